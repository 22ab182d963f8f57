#include "baimo/infer/model_weights.h"

#include "baimo/infer/gguf_model.h"
#include "baimo/kernels/backend.h"
#include "baimo/model/open_model.h"
#include "baimo/model/transformer.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

// Owns everything a ModelWeights points at: the source Transformer (F32 parameters are used in
// place) and converted / packed buffers.
struct Storage {
  std::unique_ptr<Transformer> model;
  std::vector<std::shared_ptr<const void>> buffers;
};

const float* param_data(const Transformer& m, const std::string& name) {
  return m.param(name).value().data<float>();
}

WeightMatrix convert_matrix(Storage& st, const float* src, int64_t rows, int64_t cols, DType type) {
  WeightMatrix w{DType::F32, src, rows, cols};
  if (type == DType::F32 || cols % dtype_info(type).block_elems != 0) return w;
  if (type != DType::F16 && type != DType::BF16 && type != DType::Q8_0 && type != DType::Q4_0)
    fail("weights_from_transformer: inference type {} is not supported (F32, F16, BF16, Q8_0, Q4_0)",
         dtype_info(type).name);
  const size_t row_bytes = dtype_bytes(type, static_cast<size_t>(cols));
  std::shared_ptr<uint8_t[]> buf(new uint8_t[row_bytes * static_cast<size_t>(rows)]);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    quant::quantize_row(type, src + r * cols, buf.get() + static_cast<size_t>(r) * row_bytes,
                        static_cast<size_t>(cols));
  w.type = type;
  w.data = buf.get();
  st.buffers.push_back(buf);
  if (std::shared_ptr<const void> packed = backend().pack_weights(w)) st.buffers.push_back(std::move(packed));
  return w;
}

void check_matrix(const WeightMatrix& m, int64_t rows, int64_t cols, const std::string& where,
                  const std::string& name) {
  if (!m.defined()) fail("{}: tensor {} is missing", where, name);
  if (m.rows != rows || m.cols != cols)
    fail("{}: tensor {} has shape ({}, {}), expected ({}, {})", where, name, m.rows, m.cols, rows, cols);
}

}  // namespace

WeightSlot weight_slot(ModelWeights& w, const ParamSpec& spec) {
  if (spec.role == ParamRole::Embed) return {&w.embed, nullptr};
  if (spec.role == ParamRole::LmHead) return {&w.lm_head, nullptr};
  if (spec.role == ParamRole::FinalNorm) return {nullptr, &w.final_norm};
  if (spec.layer < 0 || spec.layer >= static_cast<int64_t>(w.layers.size()))
    fail("model weights: parameter {} names layer {}, the model has {}", spec.name, spec.layer, w.layers.size());
  LayerWeights& L = w.layers[static_cast<size_t>(spec.layer)];
  switch (spec.role) {
    case ParamRole::AttnNorm: return {nullptr, &L.attn_norm};
    case ParamRole::Q: return {&L.q, nullptr};
    case ParamRole::QBias: return {nullptr, &L.q_bias};
    case ParamRole::K: return {&L.k, nullptr};
    case ParamRole::KBias: return {nullptr, &L.k_bias};
    case ParamRole::V: return {&L.v, nullptr};
    case ParamRole::VBias: return {nullptr, &L.v_bias};
    case ParamRole::O: return {&L.o, nullptr};
    case ParamRole::OBias: return {nullptr, &L.o_bias};
    case ParamRole::MlpNorm: return {nullptr, &L.mlp_norm};
    case ParamRole::Gate: return {&L.gate, nullptr};
    case ParamRole::Up: return {&L.up, nullptr};
    case ParamRole::Down: return {&L.down, nullptr};
    default: break;
  }
  fail("model weights: parameter {} has no slot", spec.name);
}

WeightMatrix& layer_matrix(ModelWeights& w, int64_t layer, ParamRole role, const char* who) {
  ParamSpec spec;
  spec.name = fmt::format("layer {} role {}", layer, static_cast<int>(role));
  spec.role = role;
  spec.layer = layer;
  const WeightSlot slot = weight_slot(w, spec);
  if (!slot.matrix) fail("{}: parameter role {} is not a layer matrix", who, static_cast<int>(role));
  return *slot.matrix;
}

ModelWeights weights_from_transformer(const Transformer& model, DType type) {
  auto st = std::make_shared<Storage>();
  st->model = std::make_unique<Transformer>(model);  // shallow: shares the parameter buffers
  const Transformer& m = *st->model;
  ModelWeights w;
  w.config = m.config();
  fill_model_weights(
      w,
      [&](const ParamSpec& s) {
        for (const Transformer::FrozenParam& f : m.frozen_params())
          if (f.spec.name == s.name) return f.w;  // a frozen base keeps its blocks (and packed copy)
        return convert_matrix(*st, param_data(m, s.name), s.shape[0], s.shape[1], type);
      },
      [&](const ParamSpec& s) { return param_data(m, s.name); });
  w.storage = st;
  return w;
}

ModelWeights load_inference_weights(const std::string& path) { return load_inference_weights(path, DType::F32); }

ModelWeights load_inference_weights(const std::string& path, DType type) {
  const ModelPath mp = open_model(path);
  if (mp.is_dir()) {
    require_causal_lm(load_model_dir_config(path), path);
    ModelWeights w = weights_from_transformer(Transformer::load(path), type);
    w.chat_template = model_dir_chat_template(path);
    validate_model_weights(w, path);
    return w;
  }
  if (mp.is_gguf()) {
    if (type != DType::F32)
      fail("{}: a GGUF file keeps its own weight types; convert it with `baimo quantize` instead", path);
    return load_gguf_model(path);
  }
  fail("{}: not a model directory (config.json + model.safetensors) or a GGUF file", path);
}

void validate_model_weights(const ModelWeights& w, const std::string& where) {
  const ModelConfig& c = w.config;
  if (static_cast<int64_t>(w.layers.size()) != c.num_hidden_layers)
    fail("{}: {} layers, config says {}", where, w.layers.size(), c.num_hidden_layers);
  auto& mw = const_cast<ModelWeights&>(w);  // weight_slot only locates; nothing is written
  for (const ParamSpec& spec : param_layout(c)) {
    const WeightSlot slot = weight_slot(mw, spec);
    if (slot.matrix)
      check_matrix(*slot.matrix, spec.shape[0], spec.shape[1], where, spec.name);
    else if (*slot.vector == nullptr)
      fail("{}: tensor {} is missing", where, spec.name);
  }
  if (c.tie_word_embeddings) check_matrix(w.lm_head, c.vocab_size, c.hidden_size, where, "lm_head");
}

}  // namespace baimo
