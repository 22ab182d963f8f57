#include "baimo/infer/model_weights.h"

#include <gtest/gtest.h>

#include "baimo/infer/engine.h"
#include "baimo/model/transformer.h"
#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace model_weights_test {
using namespace baimo;

ModelConfig small_config() {
  ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 32;
  c.qkv_bias = true;
  return c;
}

std::vector<float> last_logits(std::shared_ptr<const ModelWeights> w, const std::vector<int32_t>& ids) {
  Engine e(std::move(w), 1, 32);
  std::vector<float> logits;
  Engine::Chunk ch{0, ids};
  e.forward(std::span(&ch, 1), logits);
  return logits;
}

TEST(ModelWeights, LoadsAModelDirectoryWithItsChatTemplate) {
  TempDir tmp("baimo_model_weights_");
  Transformer model = Transformer::random(small_config(), 4);
  const std::string dir = (tmp.dir / "m").string();
  model.save(dir);
  tmp.file("m/tokenizer_config.json", R"({"chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}"})");
  ModelWeights w = load_inference_weights(dir);
  EXPECT_EQ(w.config.hidden_size, 32);
  EXPECT_EQ(w.chat_template, "{% for m in messages %}<|im_start|>{{ m.role }}");
  EXPECT_NE(w.layers[1].k_bias, nullptr);
  EXPECT_EQ(w.layers[1].o_bias, nullptr);
  // Same logits as the in-memory model; a q8_0 load packs its matrices.
  std::vector<int32_t> ids = {1, 5, 9, 2};
  auto a = last_logits(std::make_shared<const ModelWeights>(std::move(w)), ids);
  auto b = last_logits(std::make_shared<const ModelWeights>(weights_from_transformer(model)), ids);
  EXPECT_EQ(a, b);
  ModelWeights q = load_inference_weights(dir, DType::Q8_0);
  EXPECT_EQ(q.layers[0].gate.type, DType::Q8_0);
  EXPECT_NE(q.layers[0].gate.packed, nullptr);
  EXPECT_EQ(q.layers[0].attn_norm[0], model.param(layer_param(0, "input_layernorm.weight")).value().data<float>()[0]);
}

TEST(ModelWeights, BadPathsAndShapesAreClearErrors) {
  TempDir tmp("baimo_model_weights_bad_");
  try {
    load_inference_weights((tmp.dir / "nope").string());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
  }
  EXPECT_THROW(load_inference_weights(tmp.file("x.bin", "hello")), Error);
  EXPECT_THROW(load_inference_weights(tmp.file("x.gguf", "GGUF"), DType::Q4_0), Error);
  ModelWeights w = weights_from_transformer(Transformer::random(small_config(), 1));
  w.layers[1].down.rows = 31;
  EXPECT_THROW(validate_model_weights(w, "test"), Error);
  w = weights_from_transformer(Transformer::random(small_config(), 1));
  w.layers[0].q_bias = nullptr;
  EXPECT_THROW(Engine(std::make_shared<const ModelWeights>(w), 1, 8), Error);
}

}  // namespace model_weights_test
