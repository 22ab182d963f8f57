// Model directory <-> GGUF: exact f32 round trips (llama with q/k/v/o bias, qwen2 tied), f16
// within f16 rounding, q/k row permutation as llama.cpp's converter does it (checked with an
// independent reshape/swapaxes loop), llama.cpp metadata, quantized export close to f32, and
// clear errors for GGUFs that do not describe a supported model.
#include "baimo/convert/gguf_model_io.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "baimo/convert/gguf_model_meta.h"
#include "baimo/io/gguf_writer.h"
#include "baimo/kernels/half_float.h"
#include "baimo/io/safetensors.h"
#include "baimo/model/model_dir.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace fs = std::filesystem;

namespace gguf_model_io_test {
using namespace baimo;

ModelConfig tiny_config(const std::string& type) {
  ModelConfig c;
  c.model_type = type;
  c.vocab_size = 300;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 500000.0;
  if (type == "qwen2") {
    c.qkv_bias = true;
    c.tie_word_embeddings = true;
  } else {
    c.qkv_bias = c.o_bias = true;  // llama attention_bias: exercises the q/k bias permutation
  }
  c.bos_token_id = 256;
  c.eos_token_ids = {257};
  return c;
}

// 256 byte tokens, a few merges and two special tokens, as a tokenizer.json file.
std::string write_tokenizer(const TempDir& t, PreTokenizerKind kind = PreTokenizerKind::Gpt2) {
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  bytes.push_back("th");
  bytes.push_back("the");
  // 256 = "th", 257 = "the", then two special tokens.
  const std::vector<std::pair<uint32_t, uint32_t>> merges = {{'t', 'h'}, {256, 'e'}};
  std::vector<AddedToken> added = {{258, "<|im_start|>", true}, {259, "<|im_end|>", true}};
  Tokenizer tok = Tokenizer::from_bpe(kind, bytes, merges, added);
  tok.set_bos_id(258);
  tok.set_eos_id(259);
  const std::string path = (t.dir / "tokenizer.json").string();
  tok.save_tokenizer_json(path);
  return path;
}

struct Model {
  ModelConfig cfg;
  std::map<std::string, std::vector<float>> w;
};

Model write_model(const TempDir& t, const std::string& dir, const ModelConfig& cfg, uint32_t seed,
                  PreTokenizerKind kind = PreTokenizerKind::Gpt2) {
  Model m{cfg, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.5f);
  std::vector<SafetensorWrite> writes;
  for (const ParamSpec& p : param_layout(m.cfg)) {
    auto& v = m.w[p.name];
    v.resize(static_cast<size_t>(p.numel()));
    for (auto& x : v) x = nd(rng);
  }
  for (const ParamSpec& p : param_layout(m.cfg)) writes.push_back({p.name, p.shape, m.w[p.name]});
  ModelDirSave opts;
  opts.tokenizer_json = write_tokenizer(t, kind);
  save_model_dir((t.dir / dir).string(), m.cfg, writes, opts);
  return m;
}

Model write_model(const TempDir& t, const std::string& dir, const std::string& type, uint32_t seed,
                  PreTokenizerKind kind = PreTokenizerKind::Gpt2) {
  return write_model(t, dir, tiny_config(type), seed, kind);
}

std::map<std::string, std::vector<float>> read_dir(const std::string& dir) {
  const ModelConfig c = load_model_dir_config(dir);
  std::map<std::string, std::vector<float>> w;
  read_model_dir_tensors(dir, c, [&](const ParamSpec& p) -> std::span<float> {
    auto& v = w[p.name];
    v.resize(static_cast<size_t>(p.numel()));
    return v;
  });
  return w;
}

TEST(GgufModelIo, F32RoundTripIsExactForLlamaAndQwen2) {
  TempDir t("baimo_gguf_model_rt_");
  for (const std::string type : {"llama", "qwen2"}) {
    Model m = write_model(t, type, type, 7);
    const std::string gguf = (t.dir / (type + ".gguf")).string();
    const std::string back = (t.dir / (type + "_back")).string();
    export_gguf((t.dir / type).string(), gguf, {DType::F32, "", false});
    import_gguf(gguf, back);
    const ModelConfig c = load_model_dir_config(back);
    EXPECT_EQ(model_config_to_json(c), model_config_to_json(m.cfg)) << type;
    auto w = read_dir(back);
    ASSERT_EQ(w.size(), m.w.size());
    for (const auto& [name, v] : m.w) EXPECT_EQ(w.at(name), v) << type << " " << name;
    Tokenizer a = Tokenizer::from_tokenizer_json_file((t.dir / "tokenizer.json").string());
    Tokenizer b = Tokenizer::from_tokenizer_json_file(back + "/tokenizer.json");
    const std::string text = "the theme <|im_start|>then 你好";
    EXPECT_EQ(a.encode(text, Specials::Allow), b.encode(text, Specials::Allow));
    EXPECT_EQ(b.vocab_size(), a.vocab_size());  // "[PAD<id>]" fillers up to vocab_size stay gaps
  }
}

TEST(GgufModelIo, F16IsWithinF16RoundingAndNormsStayF32) {
  TempDir t("baimo_gguf_model_f16_");
  Model m = write_model(t, "m", "llama", 3);
  const std::string gguf = (t.dir / "m.gguf").string();
  export_gguf((t.dir / "m").string(), gguf, {DType::F16, "", false});
  {
    GgufReader g(gguf);
    EXPECT_EQ(g.find_tensor("blk.0.attn_q.weight")->ggml_type, 1u);
    EXPECT_EQ(g.find_tensor("blk.0.attn_norm.weight")->ggml_type, 0u);
    EXPECT_EQ(g.find_tensor("blk.0.attn_q.bias")->ggml_type, 0u);
    EXPECT_EQ(g.get_uint("general.file_type"), 1u);
  }
  import_gguf(gguf, (t.dir / "back").string());
  auto w = read_dir((t.dir / "back").string());
  for (const ParamSpec& p : param_layout(m.cfg)) {
    const auto& a = m.w.at(p.name);
    const auto& b = w.at(p.name);
    for (size_t i = 0; i < a.size(); ++i) {
      const float want = p.shape.size() == 2 ? f16_bits_to_f32(f32_to_f16_bits(a[i])) : a[i];
      ASSERT_EQ(b[i], want) << p.name << "[" << i << "]";
    }
  }
}

TEST(GgufModelIo, LlamaQkRowsArePermutedLikeLlamaCppConverter) {
  TempDir t("baimo_gguf_model_perm_");
  Model m = write_model(t, "llama", "llama", 5);
  Model q = write_model(t, "qwen2", "qwen2", 5);
  export_gguf((t.dir / "llama").string(), (t.dir / "l.gguf").string(), {DType::F32, "", false});
  export_gguf((t.dir / "qwen2").string(), (t.dir / "q.gguf").string(), {DType::F32, "", false});
  GgufReader gl((t.dir / "l.gguf").string()), gq((t.dir / "q.gguf").string());
  const int64_t D = 16, C = 64;
  // convert_hf_to_gguf.py: w.reshape(n_head, 2, D/2, C).swapaxes(1, 2).reshape(w.shape)
  auto permute = [&](const std::vector<float>& w, int64_t heads, int64_t cols) {
    std::vector<float> out(w.size());
    int64_t o = 0;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < D / 2; ++i)     // new axis 1 (was axis 2)
        for (int64_t j = 0; j < 2; ++j)       // new axis 2 (was axis 1)
          for (int64_t c = 0; c < cols; ++c)
            out[static_cast<size_t>(o++)] = w[static_cast<size_t>(((h * 2 + j) * (D / 2) + i) * cols + c)];
    return out;
  };
  auto tensor = [](const GgufReader& g, const std::string& name) {
    const GgufTensorInfo* ti = g.find_tensor(name);
    const float* f = reinterpret_cast<const float*>(ti->data);
    return std::vector<float>(f, f + ti->n_bytes / 4);
  };
  EXPECT_EQ(tensor(gl, "blk.1.attn_q.weight"), permute(m.w.at("model.layers.1.self_attn.q_proj.weight"), 4, C));
  EXPECT_EQ(tensor(gl, "blk.1.attn_k.weight"), permute(m.w.at("model.layers.1.self_attn.k_proj.weight"), 2, C));
  EXPECT_EQ(tensor(gl, "blk.1.attn_q.bias"), permute(m.w.at("model.layers.1.self_attn.q_proj.bias"), 4, 1));
  EXPECT_EQ(tensor(gl, "blk.1.attn_k.bias"), permute(m.w.at("model.layers.1.self_attn.k_proj.bias"), 2, 1));
  EXPECT_EQ(tensor(gl, "blk.1.attn_v.weight"), m.w.at("model.layers.1.self_attn.v_proj.weight"));
  EXPECT_EQ(tensor(gq, "blk.1.attn_q.weight"), q.w.at("model.layers.1.self_attn.q_proj.weight"));  // NeoX rope
  EXPECT_EQ(gq.find_tensor("output.weight"), nullptr);  // tied: llama.cpp reuses token_embd
  for (int64_t r = 0; r < 64; ++r) EXPECT_EQ(hf_row_from_gguf(gguf_row_from_hf(r, D), D), r);
}

TEST(GgufModelIo, MetadataIsWhatLlamaCppReads) {
  TempDir t("baimo_gguf_model_meta_");
  write_model(t, "qwen2", "qwen2", 1);
  const std::string gguf = (t.dir / "q.gguf").string();
  export_gguf((t.dir / "qwen2").string(), gguf, {DType::Q8_0, "my-model", false});
  GgufReader g(gguf);
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.get_string("general.architecture"), "qwen2");
  EXPECT_EQ(g.get_string("general.name"), "my-model");
  EXPECT_EQ(g.get_uint("general.file_type"), 7u);
  EXPECT_EQ(g.get_uint("qwen2.context_length"), 64u);
  EXPECT_EQ(g.get_uint("qwen2.embedding_length"), 64u);
  EXPECT_EQ(g.get_uint("qwen2.block_count"), 2u);
  EXPECT_EQ(g.get_uint("qwen2.feed_forward_length"), 96u);
  EXPECT_EQ(g.get_uint("qwen2.attention.head_count"), 4u);
  EXPECT_EQ(g.get_uint("qwen2.attention.head_count_kv"), 2u);
  EXPECT_FLOAT_EQ(static_cast<float>(*g.get_float("qwen2.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_EQ(g.get_float("qwen2.rope.freq_base"), 500000.0);
  EXPECT_EQ(g.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(g.get_string("tokenizer.ggml.pre"), "gpt-2");
  EXPECT_EQ(g.string_array("tokenizer.ggml.tokens").size(), 300u);
  EXPECT_EQ(g.string_array("tokenizer.ggml.tokens")[299], "[PAD299]");
  EXPECT_EQ(g.string_array("tokenizer.ggml.tokens")[32], "\xC4\xA0");  // ' ' in GPT-2 byte form
  EXPECT_EQ(g.string_array("tokenizer.ggml.merges")[0], "t h");
  const auto types = g.int_array("tokenizer.ggml.token_type");
  EXPECT_EQ(types[65], 1);
  EXPECT_EQ(types[258], 3);
  EXPECT_EQ(types[299], 5);
  EXPECT_EQ(g.get_uint("tokenizer.ggml.bos_token_id"), 256u);  // config.json wins over tokenizer
  EXPECT_EQ(g.get_uint("tokenizer.ggml.eos_token_id"), 257u);
  EXPECT_EQ(g.find_tensor("blk.0.ffn_down.weight")->ggml_type, 8u);
  EXPECT_EQ(g.find_tensor("token_embd.weight")->ggml_type, 8u);
  EXPECT_EQ(g.find_tensor("blk.0.ffn_norm.weight")->ggml_type, 0u);
}

TEST(GgufModelIo, QuantizedExportDequantizesCloseToF32AndRequantizes) {
  TempDir t("baimo_gguf_model_q_");
  Model m = write_model(t, "m", "llama", 11);
  for (auto [type, tol] : {std::pair{DType::Q8_0, 0.01}, {DType::Q4_0, 0.15}}) {
    const std::string gguf = (t.dir / "m.gguf").string();
    export_gguf((t.dir / "m").string(), gguf, {type, "", false});
    // Requantizing a GGUF to f32 keeps the dequantized values exactly.
    export_gguf(gguf, (t.dir / "f.gguf").string(), {DType::F32, "", false});
    import_gguf(gguf, (t.dir / "back").string());
    import_gguf((t.dir / "f.gguf").string(), (t.dir / "back2").string());
    auto w = read_dir((t.dir / "back").string());
    auto w2 = read_dir((t.dir / "back2").string());
    for (const auto& [name, v] : m.w) {
      double err = 0, norm = 0;
      for (size_t i = 0; i < v.size(); ++i) {
        err += (w.at(name)[i] - v[i]) * (w.at(name)[i] - v[i]);
        norm += v[i] * v[i];
      }
      EXPECT_LT(std::sqrt(err / norm), tol) << name;
      EXPECT_EQ(w.at(name), w2.at(name)) << name;
    }
  }
}

TEST(GgufModelIo, ModelErrorsNameTheProblem) {
  TempDir t("baimo_gguf_model_err_");
  auto expect_error = [&](GgufWriter& w, const std::string& needle) {
    const std::string path = (t.dir / "bad.gguf").string();
    w.write(path);
    try {
      import_gguf(path, (t.dir / "out").string());
      ADD_FAILURE() << "no error, expected " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  GgufWriter none;
  expect_error(none, "general.architecture is missing");
  GgufWriter gpt;
  gpt.set_string("general.architecture", "gpt2");
  expect_error(gpt, "\"gpt2\" is not supported");
  const ModelConfig c = tiny_config("llama");
  GgufWriter no_tensors;
  gguf_write_config(no_tensors, c, DType::F32, "x");
  expect_error(no_tensors, "llama.block_count = 2 but the file holds only 0 tensors");
  GgufWriter no_embd;  // enough tensors, but not token_embd
  gguf_write_config(no_embd, c, DType::F32, "x");
  std::vector<float> one(64, 0.0f);
  for (int i = 0; i < 20; ++i)
    no_embd.add_tensor(fmt::format("t{}", i), DType::F32, {64},
                       std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(one.data()), 256));
  expect_error(no_embd, "token_embd.weight");
  // Every tensor but a wrong shape on one.
  GgufWriter shape;
  gguf_write_config(shape, c, DType::F32, "x");
  std::vector<std::vector<float>> keep;
  for (const ParamSpec& p : param_layout(c)) {
    std::vector<int64_t> s = p.shape;
    if (p.name == "model.layers.1.mlp.up_proj.weight") s = {s[1], s[0]};
    keep.emplace_back(static_cast<size_t>(p.numel()), 0.0f);
    shape.add_tensor(gguf_tensor_name(p.name), DType::F32, s,
                     std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(keep.back().data()), p.numel() * 4));
  }
  expect_error(shape, "tensor 'blk.1.ffn_up.weight' has shape 64x96, the config says 96x64");
  EXPECT_THROW(parse_gguf_type("q5_1"), Error);
  EXPECT_THROW(export_gguf((t.dir / "missing").string(), (t.dir / "x.gguf").string()), Error);
}

TEST(GgufModelIo, EveryPreTokenizerKindRoundTrips) {
  TempDir t("baimo_gguf_model_pre_");
  const std::pair<PreTokenizerKind, const char*> kinds[] = {{PreTokenizerKind::Gpt2, "gpt-2"},
                                                            {PreTokenizerKind::Cl100k, "llama-bpe"},
                                                            {PreTokenizerKind::Qwen2, "qwen2"},
                                                            {PreTokenizerKind::O200k, "gpt-4o"},
                                                            {PreTokenizerKind::Baimo, "baimo"}};
  for (auto [kind, name] : kinds) {
    write_model(t, "m", "llama", 2, kind);
    const std::string gguf = (t.dir / "m.gguf").string();
    export_gguf((t.dir / "m").string(), gguf, {DType::Q8_0, "", false});
    EXPECT_EQ(GgufReader(gguf).get_string("tokenizer.ggml.pre"), name);
    import_gguf(gguf, (t.dir / "back").string());
    Tokenizer a = Tokenizer::from_tokenizer_json_file((t.dir / "tokenizer.json").string());
    Tokenizer b = Tokenizer::from_tokenizer_json_file((t.dir / "back/tokenizer.json").string());
    EXPECT_EQ(b.pretokenizer_kind(), kind) << name;
    const std::string text = "the theme, \"then\" 12345 你好。\n\n  x";
    EXPECT_EQ(a.encode(text), b.encode(text)) << name;
  }
}

// ggml type ids of the tensors of a GGUF file, by name.
static std::map<std::string, uint32_t> ggml_types(const std::string& gguf) {
  GgufReader g(gguf);
  std::map<std::string, uint32_t> types;
  for (const ParamSpec& p : param_layout(gguf_read_config(g)))
    types[gguf_tensor_name(p.name)] = gguf_param_tensor(g, p).ggml_type;
  return types;
}

TEST(GgufModelIo, KQuantTypesAndTheQ4KMMix) {
  constexpr uint32_t kF32 = 0, kQ8_0 = 8, kQ4_K = 12, kQ6_K = 14;
  TempDir t("baimo_gguf_kquant_");
  ModelConfig c = tiny_config("llama");  // untied: output.weight exists
  c.hidden_size = 256;
  c.head_dim = 64;
  c.intermediate_size = 512;
  c.num_hidden_layers = 8;
  write_model(t, "llama", c, 3);
  GgufExportOptions o;
  o.progress = false;
  set_gguf_export_type(o, "Q4_K_M");
  EXPECT_TRUE(o.q4_k_m);
  EXPECT_EQ(o.type, DType::Q4_K);
  const std::string mixed = (t.dir / "q4_k_m.gguf").string();
  export_gguf((t.dir / "llama").string(), mixed, o);
  EXPECT_EQ(GgufReader(mixed).get_uint("general.file_type"), 15u);
  auto types = ggml_types(mixed);
  // llama.cpp's use_more_bits for 8 layers: the first and last eighth (0, 7) and (l - 1) % 3 == 2.
  for (int l = 0; l < 8; ++l) {
    const uint32_t more = (l == 0 || l == 7 || l == 3 || l == 6) ? kQ6_K : kQ4_K;
    EXPECT_EQ(types[fmt::format("blk.{}.attn_v.weight", l)], more) << l;
    EXPECT_EQ(types[fmt::format("blk.{}.ffn_down.weight", l)], more) << l;
    EXPECT_EQ(types[fmt::format("blk.{}.attn_q.weight", l)], kQ4_K) << l;
    EXPECT_EQ(types[fmt::format("blk.{}.ffn_up.weight", l)], kQ4_K) << l;
    EXPECT_EQ(types[fmt::format("blk.{}.attn_norm.weight", l)], kF32) << l;
  }
  EXPECT_EQ(types["output.weight"], kQ6_K);
  EXPECT_EQ(types["token_embd.weight"], kQ4_K);

  // Pure Q6_K; a tied qwen2 model's embedding is its output (Q6_K in the mix); rows of 352
  // (no multiple of 256) fall back to Q8_0.
  set_gguf_export_type(o, "q6_k");
  EXPECT_FALSE(o.q4_k_m);
  export_gguf((t.dir / "llama").string(), (t.dir / "q6_k.gguf").string(), o);
  for (const auto& [name, type] : ggml_types((t.dir / "q6_k.gguf").string()))
    EXPECT_EQ(type, name.find("norm") != std::string::npos || name.find("bias") != std::string::npos ? kF32 : kQ6_K)
        << name;
  ModelConfig q = tiny_config("qwen2");
  q.hidden_size = 256;
  q.head_dim = 64;
  q.intermediate_size = 352;
  write_model(t, "qwen2", q, 4);
  set_gguf_export_type(o, "q4_k_m");
  export_gguf((t.dir / "qwen2").string(), (t.dir / "qwen2.gguf").string(), o);
  types = ggml_types((t.dir / "qwen2.gguf").string());
  EXPECT_EQ(types["token_embd.weight"], kQ6_K);
  EXPECT_EQ(types["blk.0.ffn_down.weight"], kQ8_0);
  EXPECT_EQ(types["blk.1.ffn_gate.weight"], kQ4_K);
  // The file loads back: K-quant tensors dequantize within their precision.
  const auto back = (t.dir / "qwen2_back").string();
  import_gguf((t.dir / "qwen2.gguf").string(), back);
  EXPECT_EQ(load_model_dir_config(back).intermediate_size, 352);

  EXPECT_THROW(set_gguf_export_type(o, "q5_k"), Error);
  // The error names every type an export takes: the K-quant names and parse_gguf_type's.
  try {
    set_gguf_export_type(o, "Q5_K");
    ADD_FAILURE() << "no error for Q5_K";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "unknown GGUF weight type \"Q5_K\" (expected q4_k_m, q4_k, q6_k, q8_0, q4_0, f16, bf16 or f32)");
  }
  set_gguf_export_type(o, "BF16");  // parse_gguf_type's names, any case
  EXPECT_EQ(o.type, DType::BF16);
  EXPECT_FALSE(o.q4_k_m);
  EXPECT_THROW(parse_gguf_type("q4_k"), Error);  // not a type baimo's engine runs
}

}  // namespace gguf_model_io_test
