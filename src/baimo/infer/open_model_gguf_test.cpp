// A GGUF file is a GGUF by its content, not its name (model/open_model.h): one named x.bin loads its
// weights (load_inference_weights), its tokenizer (load_tokenizer) and both together
// (load_inference_model), giving the logits of the model directory it came from.
#include <gtest/gtest.h>

#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/gguf_tokenizer.h"
#include "baimo/infer/engine.h"
#include "baimo/infer/inference_model.h"
#include "baimo/model/open_model.h"
#include "baimo/model/transformer.h"
#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace open_model_gguf_test {
using namespace baimo;

ModelConfig tiny() {
  ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 264;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  c.qkv_bias = true;
  c.tie_word_embeddings = true;
  return c;
}

// 256 byte tokens and two ChatML markers.
Tokenizer byte_tokenizer() {
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  Tokenizer t = Tokenizer::from_bpe(PreTokenizerKind::Cl100k, bytes, {},
                                    {{256, "<|im_start|>", true}, {257, "<|im_end|>", true}});
  return t;
}

std::vector<float> logits_of(std::shared_ptr<const ModelWeights> w, const std::vector<int32_t>& ids) {
  Engine e(std::move(w), 1, 32);
  std::vector<float> logits;
  Engine::Chunk c{0, ids, true};
  e.forward({&c, 1}, logits);
  return logits;
}

TEST(OpenModelLoad, AGgufNamedBinLoadsWeightsAndTokenizer) {
  TempDir t("baimo_open_model_");
  const std::string dir = (t.dir / "m").string(), bin = (t.dir / "x.bin").string();
  const std::string tok_json = (t.dir / "tokenizer.json").string();
  byte_tokenizer().save_tokenizer_json(tok_json);
  ModelDirSave save;
  save.tokenizer_json = tok_json;
  Transformer::random(tiny(), 7).save(dir, save);
  export_gguf(dir, bin, {DType::F32, "", false});

  EXPECT_TRUE(open_model(bin).is_gguf());
  EXPECT_TRUE(open_model(dir).is_dir());
  EXPECT_EQ(open_model(tok_json).format, ModelFormat::Other);

  // Weights alone, then tokenizer alone, then both.
  auto from_bin = std::make_shared<const ModelWeights>(load_inference_weights(bin));
  auto from_dir = std::make_shared<const ModelWeights>(load_inference_weights(dir));
  const std::vector<int32_t> ids = {5, 17, 200, 42, 0, 7};
  EXPECT_EQ(logits_of(from_bin, ids), logits_of(from_dir, ids));
  const Tokenizer tok = load_tokenizer(bin);
  EXPECT_EQ(tok.encode("hello"), byte_tokenizer().encode("hello"));
  EXPECT_EQ(tok.vocab_size(), 264u);  // GGUF pads the tokens to the model's vocab_size
  EXPECT_TRUE(tok.is_special(257));
  const InferenceModel m = load_inference_model(bin);
  EXPECT_EQ(m.config().hidden_size, 32);
  EXPECT_EQ(logits_of(m.weights, ids), logits_of(from_dir, ids));
  EXPECT_EQ(encode_prompt(m, "hi"), (std::vector<int32_t>{'h', 'i'}));
}

TEST(OpenModelLoad, NotAModelIsAnErrorForTheWeightLoader) {
  TempDir t("baimo_open_model_bad_");
  EXPECT_THROW(load_inference_weights(t.file("x.bin", "hello")), Error);
  EXPECT_THROW(load_inference_weights(t.file("y.bin", "GGUF")), Error);  // the magic, then nothing
}

}  // namespace open_model_gguf_test
