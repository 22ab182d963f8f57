// load_gguf_model: an f32 GGUF gives exactly the weights (and the engine's logits) of the model
// directory it came from, llama q/k rows back in HF order; Q8_0 / Q4_0 files point into the
// mapping, carry packed copies, and give logits close to f32; K-quant matrices are dequantized;
// malformed files are errors.
#include "baimo/infer/gguf_model.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include "baimo/convert/gguf_model_io.h"
#include "baimo/io/gguf_writer.h"
#include "baimo/infer/engine.h"
#include "baimo/model/transformer.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace gguf_model_test {
using namespace baimo;

ModelConfig tiny(const std::string& type) {
  ModelConfig c;
  c.model_type = type;
  c.vocab_size = 320;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 128;
  c.rms_norm_eps = 1e-5;
  c.qkv_bias = true;             // llama: attention_bias (q/k biases are permuted in the file too)
  c.o_bias = type == "llama";
  c.tie_word_embeddings = type == "qwen2";
  return c;
}

// Dequantized rows of a weight matrix.
std::vector<float> rows_f32(const WeightMatrix& w) {
  std::vector<float> out(static_cast<size_t>(w.rows * w.cols));
  for (int64_t r = 0; r < w.rows; ++r)
    quant::dequantize_row(w.type, static_cast<const uint8_t*>(w.data) + r * w.row_bytes(), out.data() + r * w.cols,
                          static_cast<size_t>(w.cols));
  return out;
}

std::vector<float> logits_of(std::shared_ptr<const ModelWeights> w, const std::vector<int32_t>& ids) {
  Engine e(std::move(w), 1, 64);
  std::vector<float> logits;
  Engine::Chunk c{0, ids, true};
  e.forward({&c, 1}, logits);
  return logits;
}

TEST(GgufModel, F32FileEqualsTheModelDirectory) {
  TempDir t("baimo_gguf_model_load_");
  for (const std::string type : {"llama", "qwen2"}) {
    const std::string dir = (t.dir / type).string(), gguf = (t.dir / (type + ".gguf")).string();
    Transformer::random(tiny(type), 3).save(dir);
    export_gguf(dir, gguf, {DType::F32, "", false});
    auto from_dir = std::make_shared<const ModelWeights>(load_inference_weights(dir));
    auto from_gguf = std::make_shared<const ModelWeights>(load_gguf_model(gguf));
    ASSERT_EQ(from_gguf->layers.size(), 2u);
    for (size_t l = 0; l < 2; ++l) {
      const LayerWeights &a = from_dir->layers[l], &b = from_gguf->layers[l];
      EXPECT_EQ(rows_f32(a.q), rows_f32(b.q)) << type << " layer " << l;  // un-permuted
      EXPECT_EQ(rows_f32(a.k), rows_f32(b.k)) << type << " layer " << l;
      EXPECT_EQ(rows_f32(a.down), rows_f32(b.down));
    }
    const std::vector<int32_t> ids = {5, 17, 300, 42, 0, 7, 99, 123};
    EXPECT_EQ(logits_of(from_dir, ids), logits_of(from_gguf, ids)) << type;
  }
}

TEST(GgufModel, QuantizedFilesMapPackAndStayClose) {
  TempDir t("baimo_gguf_model_q_");
  const std::string dir = (t.dir / "m").string();
  Transformer::random(tiny("llama"), 5).save(dir);
  const std::vector<int32_t> ids = {1, 2, 3, 200, 100, 50, 25, 12};
  export_gguf(dir, (t.dir / "f.gguf").string(), {DType::F32, "", false});
  const auto ref = logits_of(std::make_shared<const ModelWeights>(load_gguf_model((t.dir / "f.gguf").string())), ids);
  // Random N(0, 0.02) weights: 4-bit blocks keep about 10-15% relative error per product.
  for (auto [type, tol] : {std::pair{DType::Q8_0, 0.02}, {DType::Q4_0, 0.25}}) {
    const std::string gguf = (t.dir / "q.gguf").string();
    export_gguf(dir, gguf, {type, "", false});
    auto w = std::make_shared<const ModelWeights>(load_gguf_model(gguf));
    EXPECT_EQ(w->layers[0].up.type, type);
    EXPECT_NE(w->layers[0].up.packed, nullptr);
    EXPECT_NE(w->lm_head.packed, nullptr);
    const auto got = logits_of(w, ids);
    double err = 0, norm = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      err += (got[i] - ref[i]) * (got[i] - ref[i]);
      norm += ref[i] * ref[i];
    }
    EXPECT_LT(std::sqrt(err / norm), tol) << dtype_info(type).name;
  }
}

TEST(GgufModel, MalformedFilesAreErrors) {
  TempDir t("baimo_gguf_model_bad_");
  EXPECT_THROW(load_gguf_model((t.dir / "missing.gguf").string()), Error);
  const std::string junk = t.file("junk.gguf", "GGUF\x03\0\0\0 not really");
  EXPECT_THROW(load_gguf_model(junk), Error);
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.write((t.dir / "empty.gguf").string());
  EXPECT_THROW(load_gguf_model((t.dir / "empty.gguf").string()), Error);
}

}  // namespace gguf_model_test
