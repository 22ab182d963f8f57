#include "baimo/convert/training_base.h"

#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/gguf_model_meta.h"
#include "baimo/io/gguf_reader.h"
#include "baimo/io/mapped_pages.h"
#include "baimo/kernels/backend.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/quant/row_convert.h"
#include "baimo/quant/sparse_2of4.h"
#include "baimo/util/error.h"

namespace baimo {

namespace {

// Everything the frozen matrices point into: the GGUF mapping and the buffers made at load.
struct FrozenStorage {
  std::unique_ptr<GgufReader> reader;
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<std::shared_ptr<const void>> packed;
  const uint8_t* keep(std::vector<uint8_t> b) {
    buffers.push_back(std::move(b));
    return buffers.back().data();
  }
};

// Q8_0 / Q4_0: the backend's packed copy replaces the rows (w.data = nullptr; the products, dx and
// row lookups read it), so the matrix is held once. `rows` is the buffer w.data points into (freed
// here) or empty when w.data points into the file mapping (whose pages are dropped from this
// process, as infer/gguf_model does: io/mapped_pages.h). Other types keep rows.
void pack_or_keep(FrozenStorage& st, WeightMatrix& w, std::vector<uint8_t> rows) {
  std::shared_ptr<const void> packed = backend().pack_weights(w);
  if (!packed) {
    if (!rows.empty()) w.data = st.keep(std::move(rows));
    return;
  }
  st.packed.push_back(std::move(packed));
  if (rows.empty()) drop_mapped_pages(w.data, w.bytes());
  w.data = nullptr;
}

std::span<float> values(const ag::Var& v) { return {v.value().data<float>(), static_cast<size_t>(v.numel())}; }

// The f32 Vars of a frozen base hold norms and biases: filled, then frozen too.
void fill_vectors(Transformer& m, std::map<std::string, std::vector<float>>& vecs) {
  for (const auto& p : m.params()) {
    auto it = vecs.find(p.spec.name);
    if (it == vecs.end()) fail("training base: parameter {} was not loaded", p.spec.name);  // a bug, not input
    std::memcpy(p.var.value().data<float>(), it->second.data(), it->second.size() * sizeof(float));
    p.var.node()->requires_grad = false;
  }
}

// A GGUF matrix in HF row order in a type the training kernels read.
WeightMatrix gguf_frozen_matrix(FrozenStorage& st, const ModelConfig& c, const ParamSpec& p) {
  const GgufReader& g = *st.reader;
  const GgufTensorInfo& t = gguf_param_tensor(g, p);
  DType type = *dtype_from_ggml(t.ggml_type);
  const int64_t rows = p.shape[0], cols = p.shape[1];
  if (cols % dtype_info(type).block_elems != 0)
    fail("GGUF file {}: tensor '{}' row length {} is not a multiple of its block size", g.path(), t.name, cols);
  const uint8_t* data = t.data;
  std::vector<uint8_t> own;  // rows made at load (requantized or moved), when the file's cannot be used
  if (type == DType::Q4_K || type == DType::Q6_K) {  // no training kernel reads K-quants: Q8_0 rows
    if (cols % 32 != 0) fail("GGUF file {}: tensor '{}' cannot be requantized to Q8_0", g.path(), t.name);
    const size_t in_rb = dtype_bytes(type, static_cast<size_t>(cols));
    const size_t out_rb = dtype_bytes(DType::Q8_0, static_cast<size_t>(cols));
    std::vector<uint8_t> buf(out_rb * static_cast<size_t>(rows));
#pragma omp parallel
    {
      std::vector<float> row(static_cast<size_t>(cols));
#pragma omp for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        quant::dequantize_row(type, data + r * in_rb, row.data(), static_cast<size_t>(cols));
        quant::quantize_row(DType::Q8_0, row.data(), buf.data() + r * out_rb, static_cast<size_t>(cols));
      }
    }
    type = DType::Q8_0;
    own = std::move(buf);
    data = own.data();
  } else if (type == DType::Q8_0_S24) {  // 2:4 compact: the same Q8_0 rows, exactly
    std::vector<uint8_t> buf(dtype_bytes(DType::Q8_0, static_cast<size_t>(rows * cols)));
    for (int64_t r = 0; r < rows; ++r)
      quant::expand_row_q8_0_s24(data + r * dtype_bytes(type, static_cast<size_t>(cols)),
                                 buf.data() + r * dtype_bytes(DType::Q8_0, static_cast<size_t>(cols)),
                                 static_cast<size_t>(cols));
    type = DType::Q8_0;
    own = std::move(buf);
    data = own.data();
  }
  WeightMatrix w{type, data, rows, cols};
  int64_t heads = 0;
  const bool permuted = gguf_rows_permuted(c, p.name, &heads);
  const bool misaligned = reinterpret_cast<uintptr_t>(data) % alignof(float) != 0;
  if (permuted || misaligned) {  // back to HF row order: whole rows (of blocks) move
    const size_t rb = w.row_bytes();
    std::vector<uint8_t> buf(rb * static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(buf.data() + (permuted ? hf_row_from_gguf(r, c.head_dim) : r) * rb, data + r * rb, rb);
    own = std::move(buf);
    w.data = own.data();
  }
  const bool copied = !own.empty();
  pack_or_keep(st, w, std::move(own));
  if (copied) drop_mapped_pages(t.data, t.n_bytes);  // the file's rows were read into `own`
  return w;
}

Transformer frozen_from_gguf(const std::string& path) {
  auto st = std::make_shared<FrozenStorage>();
  st->reader = std::make_unique<GgufReader>(path);
  const ModelConfig cfg = gguf_read_config(*st->reader);
  std::vector<Transformer::FrozenParam> frozen;
  std::map<std::string, std::vector<float>> vecs;
  for (const ParamSpec& p : param_layout(cfg)) {
    if (p.shape.size() == 2) {
      frozen.push_back({p, gguf_frozen_matrix(*st, cfg, p)});
    } else {
      std::vector<float>& v = vecs[p.name];
      v.resize(static_cast<size_t>(p.numel()));
      read_gguf_tensor_f32(*st->reader, cfg, p, v);
      const GgufTensorInfo& t = gguf_param_tensor(*st->reader, p);
      drop_mapped_pages(t.data, t.n_bytes);
    }
  }
  Transformer m(cfg, std::move(frozen), st);
  fill_vectors(m, vecs);
  return m;
}

Transformer frozen_from_dir(const std::string& dir, DType type) {
  if (type != DType::F32 && type != DType::F16 && type != DType::BF16 && type != DType::Q8_0 && type != DType::Q4_0)
    fail("training base {}: frozen matrices cannot be stored as {} (f32, f16, bf16, q8_0, q4_0)", dir,
         dtype_info(type).name);
  const ModelConfig cfg = load_model_dir_config(dir);
  auto st = std::make_shared<FrozenStorage>();
  std::vector<Transformer::FrozenParam> frozen;
  std::map<std::string, std::vector<float>> vecs;
  // read_model_dir_tensors fills the span dest() returns after dest() returns: the matrix read last is
  // converted when the next one is asked for (and after the loop), so one f32 matrix exists at a time.
  std::vector<float> pending;
  const ParamSpec* pending_spec = nullptr;
  auto convert_pending = [&] {
    if (!pending_spec) return;
    const ParamSpec& p = *pending_spec;
    const int64_t rows = p.shape[0], cols = p.shape[1];
    const DType t = cols % dtype_info(type).block_elems == 0 ? type : DType::F32;  // odd rows stay f32
    const size_t rb = dtype_bytes(t, static_cast<size_t>(cols));
    std::vector<uint8_t> buf(rb * static_cast<size_t>(rows));
#pragma omp parallel for schedule(static) if (rows >= 64)
    for (int64_t r = 0; r < rows; ++r)
      quant::quantize_row(t, pending.data() + r * cols, buf.data() + r * rb, static_cast<size_t>(cols));
    WeightMatrix w{t, buf.data(), rows, cols};
    pack_or_keep(*st, w, std::move(buf));
    frozen.push_back({p, w});
    pending_spec = nullptr;
  };
  const std::vector<ParamSpec> layout = param_layout(cfg);
  read_model_dir_tensors(dir, cfg, [&](const ParamSpec& s) -> std::span<float> {
    convert_pending();
    if (s.shape.size() != 2) {
      std::vector<float>& v = vecs[s.name];
      v.resize(static_cast<size_t>(s.numel()));
      return v;
    }
    for (const ParamSpec& l : layout)
      if (l.name == s.name) pending_spec = &l;
    pending.assign(static_cast<size_t>(s.numel()), 0.f);
    return pending;
  });
  convert_pending();
  pending = {};
  Transformer m(cfg, std::move(frozen), st);
  fill_vectors(m, vecs);
  return m;
}

}  // namespace

Transformer load_training_base(const std::string& path, BaseStorage storage, DType dir_type) {
  const ModelPath mp = open_model(path);
  if (!mp.is_dir() && !mp.is_gguf()) fail("{}: not a model directory or a GGUF file", path);
  if (mp.is_dir()) require_causal_lm(load_model_dir_config(path), path);
  if (mp.is_gguf() && dir_type != DType::F32)
    fail("{}: a GGUF base keeps its own tensor types; convert it with `baimo quantize` instead of asking for {}", path,
         dtype_info(dir_type).name);
  if (storage == BaseStorage::Frozen) return mp.is_gguf() ? frozen_from_gguf(path) : frozen_from_dir(path, dir_type);
  if (mp.is_dir()) return Transformer::load(path);
  const GgufReader g(path);
  Transformer m(gguf_read_config(g));
  for (const auto& p : m.params()) {  // the file's pages of each tensor leave once it is converted
    read_gguf_tensor_f32(g, m.config(), p.spec, values(p.var));
    const GgufTensorInfo& t = gguf_param_tensor(g, p.spec);
    drop_mapped_pages(t.data, t.n_bytes);
  }
  return m;
}

}  // namespace baimo
