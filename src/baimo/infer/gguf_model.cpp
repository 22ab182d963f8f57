#include "baimo/infer/gguf_model.h"

#include <cstring>
#include <memory>
#include <vector>

#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/gguf_model_meta.h"
#include "baimo/io/gguf_reader.h"
#include "baimo/io/mapped_pages.h"
#include "baimo/kernels/backend.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

namespace baimo {

namespace {

// Everything the weights point into: the mapping and the buffers made at load.
struct GgufStorage {
  std::unique_ptr<GgufReader> reader;
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<std::shared_ptr<const void>> packed;

  const uint8_t* keep(std::vector<uint8_t> b) {
    buffers.push_back(std::move(b));
    return buffers.back().data();
  }
};

class Loader {
 public:
  Loader(GgufStorage& st, const ModelConfig& c) : st_(st), g_(*st.reader), c_(c) {}

  WeightMatrix matrix(const ParamSpec& p) {
    const GgufTensorInfo& t = gguf_param_tensor(g_, p);
    DType type = *dtype_from_ggml(t.ggml_type);
    const int64_t rows = p.shape[0], cols = p.shape[1];
    const uint8_t* data = t.data;
    if (type == DType::Q4_K || type == DType::Q6_K) {  // no kernel: dequantize to f16 once
      std::vector<uint8_t> buf(dtype_bytes(DType::F16, static_cast<size_t>(rows * cols)));
      std::vector<float> row(static_cast<size_t>(cols));
      const size_t in_rb = dtype_bytes(type, static_cast<size_t>(cols));
      const size_t out_rb = dtype_bytes(DType::F16, static_cast<size_t>(cols));
      for (int64_t r = 0; r < rows; ++r) {
        quant::dequantize_row(type, data + r * in_rb, row.data(), static_cast<size_t>(cols));
        quant::quantize_row(DType::F16, row.data(), buf.data() + r * out_rb, static_cast<size_t>(cols));
      }
      type = DType::F16;
      data = st_.keep(std::move(buf));
    }
    WeightMatrix w{type, data, rows, cols};
    int64_t heads = 0;
    if (gguf_rows_permuted(c_, p.name, &heads)) {  // back to HF row order: whole rows move
      const size_t rb = w.row_bytes();
      std::vector<uint8_t> buf(rb * static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(buf.data() + hf_row_from_gguf(r, c_.head_dim) * rb, data + r * rb, rb);
      w.data = st_.keep(std::move(buf));
    }
    if (w.data != t.data) drop_mapped_pages(t.data, t.n_bytes);  // copied: the file's rows are not read again
    return w;
  }

  // Adds the packed copy the fast kernels read (Q8_0 / Q4_0). The file pages the packing just read
  // are dropped from this process (io/mapped_pages.h: a later access, e.g. an embedding row lookup,
  // reads them again from the page cache), so resident memory holds the weights once.
  void pack(WeightMatrix& w) {
    const WeightMatrix rows = w;  // pack_weights may change a Q8_0_S24 matrix's type and drop its rows
    std::shared_ptr<const void> packed = backend().pack_weights(w);
    if (!packed) {
      if (w.type == DType::Q8_0_S24) fail("the backend cannot run Q8_0_S24 (2:4 compact) matrices");
      return;
    }
    st_.packed.push_back(std::move(packed));
    if (from_file(rows.data)) drop_mapped_pages(rows.data, rows.bytes());
  }

  bool from_file(const void* p) const {
    for (const auto& b : st_.buffers)
      if (p == b.data()) return false;
    return true;
  }

  const float* vector(const ParamSpec& p) {
    const GgufTensorInfo& t = gguf_param_tensor(g_, p);
    int64_t heads = 0;
    const bool permuted = gguf_rows_permuted(c_, p.name, &heads);
    const bool aligned = reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0;
    if (t.ggml_type == 0 && !permuted && aligned) return reinterpret_cast<const float*>(t.data);
    std::vector<uint8_t> buf(static_cast<size_t>(p.numel()) * sizeof(float));
    read_gguf_tensor_f32(g_, c_, p, {reinterpret_cast<float*>(buf.data()), static_cast<size_t>(p.numel())});
    return reinterpret_cast<const float*>(st_.keep(std::move(buf)));
  }

 private:
  GgufStorage& st_;
  const GgufReader& g_;
  const ModelConfig& c_;
};

}  // namespace

ModelWeights load_gguf_model(const std::string& path) {
  auto st = std::make_shared<GgufStorage>();
  st->reader = std::make_unique<GgufReader>(path);
  ModelWeights m;
  m.config = gguf_read_config(*st->reader);
  m.chat_template = gguf_read_chat_template(*st->reader);
  const ModelConfig& c = m.config;
  Loader ld(*st, c);
  fill_model_weights(
      m,
      [&](const ParamSpec& p) {
        WeightMatrix w = ld.matrix(p);
        if (p.kind == ParamKind::Matrix) ld.pack(w);  // the products (not the embedding table)
        return w;
      },
      [&](const ParamSpec& p) { return ld.vector(p); });
  if (c.tie_word_embeddings) ld.pack(m.lm_head);
  m.storage = st;
  validate_model_weights(m, path);
  return m;
}

}  // namespace baimo
