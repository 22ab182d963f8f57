#include "baimo/model/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace fs = std::filesystem;

namespace config_test {
using namespace baimo;
using json = nlohmann::json;

json llama() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 1000,
    "hidden_size": 64, "intermediate_size": 176, "num_hidden_layers": 2, "num_attention_heads": 8,
    "num_key_value_heads": 2, "max_position_embeddings": 128, "rope_theta": 10000.0,
    "rms_norm_eps": 1e-6, "tie_word_embeddings": false, "hidden_act": "silu",
    "initializer_range": 0.02, "torch_dtype": "float32", "bos_token_id": 1, "eos_token_id": 2,
    "transformers_version": "4.44.0", "use_cache": true, "rope_scaling": null, "attention_dropout": 0.0,
    "pretraining_tp": 1, "mlp_bias": false
  })");
}

// Expects parse to fail with a message that names the file and contains `needle`.
void expect_error(const json& j, const std::string& needle) {
  try {
    parse_model_config(j, "cfg/config.json");
    ADD_FAILURE() << "expected an error mentioning " << needle;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cfg/config.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

std::string repo_file(const std::string& rel) { return std::string(BAIMO_SOURCE_DIR) + "/" + rel; }

TEST(ModelConfig, ParsesLlamaFieldsAndDefaults) {
  ModelConfig c = parse_model_config(llama(), "x");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.kv_dim(), 16);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{2});
  json j = llama();
  j.erase("num_key_value_heads");
  EXPECT_EQ(parse_model_config(j, "x").num_key_value_heads, 8);
}

TEST(ModelConfig, BiasRulesFollowTransformers) {
  json j = llama();
  j["attention_bias"] = true;
  ModelConfig c = parse_model_config(j, "x");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_TRUE(c.o_bias);  // llama's attention_bias also covers o_proj
  j = llama();
  j["model_type"] = "qwen2";
  j["sliding_window"] = 4096;  // Qwen2 ships this with use_sliding_window = false
  j["use_sliding_window"] = false;
  j["max_window_layers"] = 21;
  c = parse_model_config(j, "x");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  j["attention_bias"] = false;
  expect_error(j, "attention_bias");
  j = llama();
  j["model_type"] = "mistral";
  j["sliding_window"] = nullptr;
  EXPECT_FALSE(parse_model_config(j, "x").qkv_bias);
  j["sliding_window"] = 64;  // shorter than the context: a live window
  expect_error(j, "sliding_window");
}

TEST(ModelConfig, ParameterCountMatchesTensors) {
  ModelConfig c = parse_model_config(llama(), "x");
  int64_t h = 64, f = 176, v = 1000, kv = 16;
  int64_t block = h * h * 2 + 2 * h * kv + 3 * h * f + 2 * h;
  EXPECT_EQ(c.parameter_count(), 2 * v * h + 2 * block + h);
  c.tie_word_embeddings = true;
  EXPECT_EQ(c.parameter_count(), v * h + 2 * block + h);
}

TEST(ModelConfig, RejectsUnknownAndInconsistentFields) {
  json j = llama();
  j["hiden_size"] = 64;
  expect_error(j, "unknown field \"hiden_size\"");
  j = llama();
  j["num_attention_heads"] = 7;
  expect_error(j, "num_attention_heads");
  j = llama();
  j["num_key_value_heads"] = 3;
  expect_error(j, "num_key_value_heads");
  j = llama();
  j["hidden_size"] = 0;
  expect_error(j, "hidden_size");
  j = llama();
  j["intermediate_size"] = -5;
  expect_error(j, "intermediate_size");
  j = llama();
  j["vocab_size"] = "1000";
  expect_error(j, "vocab_size");
  j = llama();
  j["hidden_size"] = 64.0;
  expect_error(j, "hidden_size");
  j = llama();
  j["tie_word_embeddings"] = 1;
  expect_error(j, "tie_word_embeddings");
  j = llama();
  j["rms_norm_eps"] = 0;
  expect_error(j, "rms_norm_eps");
  j = llama();
  j["hidden_act"] = "gelu";
  expect_error(j, "hidden_act");
  j = llama();
  j["model_type"] = "gpt2";
  expect_error(j, "model_type");
  j = llama();
  j.erase("model_type");
  expect_error(j, "model_type");
  j = llama();
  j.erase("num_hidden_layers");
  expect_error(j, "num_hidden_layers");
  j = llama();
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  expect_error(j, "rope_scaling");
  j = llama();
  j["eos_token_id"] = 5000;
  expect_error(j, "eos_token_id");
  j = llama();
  j["head_dim"] = 7;
  expect_error(j, "head_dim");
  j = llama();
  j["torch_dtype"] = "int8";
  expect_error(j, "torch_dtype");
  j = llama();
  j["hidden_size"] = uint64_t{1} << 40;
  expect_error(j, "hidden_size");
  expect_error(json::array(), "object");
}

TEST(ModelConfig, BadJsonTextNamesTheFile) {
  try {
    parse_model_config_text("{\"vocab_size\": 3,", "cfg/config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cfg/config.json: not valid JSON"), std::string::npos);
  }
  // nlohmann reports a number too large for a double as out_of_range, not parse_error (found by fuzzing).
  EXPECT_THROW(parse_model_config_text("9e999", "cfg/config.json"), Error);
  EXPECT_THROW(parse_model_config_text("{\"rope_theta\": 1e400}", "cfg/config.json"), Error);
}

TEST(ModelConfig, SaveLoadRoundTrip) {
  fs::path dir = fs::temp_directory_path() / ("baimo_cfg_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  json j = llama();
  j["model_type"] = "qwen2";
  j["tie_word_embeddings"] = true;
  j["eos_token_id"] = json::array({2, 3});
  ModelConfig c = parse_model_config(j, "x");
  std::string p = (dir / "config.json").string();
  save_model_config(c, p);
  ModelConfig d = load_model_config(p);
  EXPECT_EQ(model_config_to_json(c), model_config_to_json(d));
  EXPECT_EQ(d.eos_token_ids, (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(d.qkv_bias);
  EXPECT_EQ(json::parse(read_file(p))["architectures"][0], "Qwen2ForCausalLM");
  fs::remove_all(dir);
}

TEST(ModelConfig, ShippedConfigsParseWithIntendedSizes) {
  ModelConfig tiny = load_model_config(repo_file("configs/tiny.json"));
  ModelConfig small = load_model_config(repo_file("configs/small.json"));
  ModelConfig base = load_model_config(repo_file("configs/base.json"));
  EXPECT_GT(tiny.parameter_count(), 500'000);
  EXPECT_LT(tiny.parameter_count(), 2'000'000);
  EXPECT_GT(small.parameter_count(), 7'000'000);
  EXPECT_LT(small.parameter_count(), 15'000'000);
  EXPECT_GT(base.parameter_count(), 80'000'000);
  EXPECT_LT(base.parameter_count(), 130'000'000);
}

}  // namespace config_test
