#include "baimo/model/model_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "baimo/model/init.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace fs = std::filesystem;

namespace model_dir_test {
using namespace baimo;

ModelConfig small_config(bool qwen) {
  ModelConfig c;
  c.model_type = qwen ? "qwen2" : "llama";
  c.vocab_size = 50;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = qwen ? 2 : 4;
  c.head_dim = 4;
  c.max_position_embeddings = 32;
  c.tie_word_embeddings = qwen;
  c.qkv_bias = qwen;
  c.validate("test");
  return c;
}

struct Weights {
  std::map<std::string, std::vector<float>> data;
  std::vector<SafetensorWrite> writes(const ModelConfig& c) {
    std::vector<SafetensorWrite> w;
    for (const auto& s : param_layout(c)) w.push_back({s.name, s.shape, data.at(s.name)});
    return w;
  }
};

Weights random_weights(const ModelConfig& c, uint64_t seed) {
  Weights w;
  for (const auto& s : param_layout(c)) {
    auto& v = w.data[s.name];
    v.resize(s.numel());
    init_param(s, c.initializer_range, seed, v);
  }
  return w;
}

Weights load(const std::string& dir, const ModelConfig& c) {
  Weights w;
  read_model_dir_tensors(dir, c, [&](const ParamSpec& s) -> std::span<float> {
    auto& v = w.data[s.name];
    v.resize(s.numel());
    return v;
  });
  return w;
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("baimo_mdir_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

TEST(ModelDir, LayoutMatchesParameterCount) {
  for (bool qwen : {false, true}) {
    ModelConfig c = small_config(qwen);
    int64_t n = 0;
    for (const auto& s : param_layout(c)) n += s.numel();
    EXPECT_EQ(n, c.parameter_count());
  }
  auto names = param_layout(small_config(true));
  EXPECT_EQ(names[3].name, "model.layers.0.self_attn.q_proj.bias");
  EXPECT_EQ(names.back().name, "model.norm.weight");  // tied: no lm_head
}

TEST(ModelDir, SaveLoadRoundTripWithExtras) {
  TempDir t;
  ModelConfig c = small_config(true);
  c.eos_token_ids = {3};
  Weights w = random_weights(c, 5);
  std::string tok = (t.path / "tok.json").string();
  write_file_atomic(tok, "{\"model\": {\"vocab\": {}}}");
  std::string dir = (t.path / "m").string();
  ModelDirSave with_tok;
  with_tok.tokenizer_json = tok;
  save_model_dir(dir, c, w.writes(c), with_tok);
  EXPECT_EQ(read_file(model_dir_tokenizer(dir)), read_file(tok));
  auto gen = nlohmann::json::parse(read_file(model_dir_generation_config(dir)));
  EXPECT_EQ(gen["eos_token_id"], 3);
  ModelConfig d = load_model_dir_config(dir);
  EXPECT_EQ(model_config_to_json(d), model_config_to_json(c));
  EXPECT_EQ(load(dir, d).data, w.data);
  // Saving into the same directory again (tokenizer already there) works and keeps it.
  with_tok.tokenizer_json = model_dir_tokenizer(dir);
  save_model_dir(dir, c, w.writes(c), with_tok);
  EXPECT_EQ(read_file(model_dir_tokenizer(dir)), read_file(tok));
  // bf16 on disk: loads within bf16 precision and the config says so.
  ModelDirSave bf16;
  bf16.dtype = DType::BF16;
  save_model_dir(dir, c, w.writes(c), bf16);
  EXPECT_EQ(load_model_dir_config(dir).torch_dtype, "bfloat16");
  Weights b = load(dir, c);
  for (auto& [name, v] : w.data)
    for (size_t i = 0; i < v.size(); ++i) ASSERT_NEAR(b.data[name][i], v[i], std::fabs(v[i]) / 128 + 1e-30) << name;
}

// Issue 19.7: the BOS setting that lives only in tokenizer_config.json travels with tokenizer.json
// (baimo init --tokenizer, every checkpoint), so a Llama-style model keeps its add_bos.
TEST(ModelDir, TokenizerConfigTravelsWithTheTokenizer) {
  TempDir t;
  fs::create_directories(t.path / "src");
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  Tokenizer tok = Tokenizer::from_bpe(PreTokenizerKind::Cl100k, bytes, {}, {{256, "<s>", true}, {257, "</s>", true}});
  const std::string tok_path = (t.path / "src" / "tokenizer.json").string();
  tok.save_tokenizer_json(tok_path);
  const std::string config = R"({"add_bos_token": true, "bos_token": "<s>", "eos_token": "</s>"})";
  write_file_atomic((t.path / "src" / "tokenizer_config.json").string(), config);
  ASSERT_TRUE(Tokenizer::from_tokenizer_json_file(tok_path).add_bos());

  ModelConfig c = small_config(false);
  c.vocab_size = 258;
  Weights w = random_weights(c, 1);
  ModelDirSave opts;
  opts.tokenizer_json = tok_path;
  const std::string dir = (t.path / "m").string();
  save_model_dir(dir, c, w.writes(c), opts);
  EXPECT_EQ(read_file(dir + "/tokenizer_config.json"), config);
  Tokenizer copied = Tokenizer::from_tokenizer_json_file(model_dir_tokenizer(dir));
  EXPECT_TRUE(copied.add_bos());
  EXPECT_EQ(copied.bos_id(), 256u);
  // A checkpoint saved from that directory (tokenizer.json of the model dir) keeps it too.
  opts.tokenizer_json = model_dir_tokenizer(dir);
  save_model_dir((t.path / "ckpt").string(), c, w.writes(c), opts);
  EXPECT_TRUE(Tokenizer::from_tokenizer_json_file((t.path / "ckpt" / "tokenizer.json").string()).add_bos());
}

TEST(ModelDir, MismatchedWeightsAreClearErrors) {
  TempDir t;
  ModelConfig c = small_config(false);
  Weights w = random_weights(c, 5);
  std::string dir = (t.path / "m").string();
  save_model_dir(dir, c, w.writes(c));
  std::string st = (fs::path(dir) / "model.safetensors").string();
  auto expect_error = [&](const std::string& needle) {
    try {
      load(dir, c);
      ADD_FAILURE() << "expected " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  // Missing tensor.
  auto writes = w.writes(c);
  writes.pop_back();
  save_safetensors(st, writes);
  expect_error("\"lm_head.weight\" is missing");
  // Wrong shape.
  writes = w.writes(c);
  writes[0].shape = {16, 50};
  save_safetensors(st, writes);
  expect_error("model.embed_tokens.weight\" has shape [16, 50], expected [50, 16]");
  // Unknown tensor.
  writes = w.writes(c);
  std::vector<float> extra(3);
  writes.push_back({"model.layers.0.mlp.extra.weight", {3}, extra});
  save_safetensors(st, writes);
  expect_error("unexpected tensor \"model.layers.0.mlp.extra.weight\"");
  // The non-parameter buffers old Llama checkpoints carry are ignored.
  writes.back().name = "model.layers.0.self_attn.rotary_emb.inv_freq";
  save_safetensors(st, writes);
  EXPECT_EQ(load(dir, c).data, w.data);
  // Saving with weights that do not match the config writes nothing.
  writes = w.writes(c);
  writes.pop_back();
  EXPECT_THROW(save_model_dir((t.path / "other").string(), c, writes), Error);
  EXPECT_FALSE(fs::exists(t.path / "other" / "model.safetensors"));
}

TEST(ModelDir, ShardedCheckpointLoads) {
  TempDir t;
  ModelConfig c = small_config(false);
  Weights w = random_weights(c, 9);
  fs::path dir = t.path / "sharded";
  fs::create_directories(dir);
  auto writes = w.writes(c);
  std::vector<SafetensorWrite> a(writes.begin(), writes.begin() + 5), b(writes.begin() + 5, writes.end());
  save_safetensors((dir / "model-00001-of-00002.safetensors").string(), a);
  save_safetensors((dir / "model-00002-of-00002.safetensors").string(), b);
  nlohmann::json idx;
  for (auto& x : a) idx["weight_map"][x.name] = "model-00001-of-00002.safetensors";
  for (auto& x : b) idx["weight_map"][x.name] = "model-00002-of-00002.safetensors";
  write_file_atomic((dir / "model.safetensors.index.json").string(), idx.dump());
  EXPECT_EQ(load(dir.string(), c).data, w.data);
  idx["weight_map"]["x"] = "../escape.safetensors";
  write_file_atomic((dir / "model.safetensors.index.json").string(), idx.dump());
  EXPECT_THROW(load(dir.string(), c), Error);
}

}  // namespace model_dir_test
