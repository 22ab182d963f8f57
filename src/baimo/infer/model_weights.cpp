#include "baimo/infer/model_weights.h"

#include <filesystem>

#include "baimo/infer/gguf_model.h"
#include "baimo/kernels/backend.h"
#include "baimo/model/transformer.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

namespace fs = std::filesystem;

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
  if (m.data == nullptr) fail("{}: tensor {} is missing", where, name);
  if (m.rows != rows || m.cols != cols)
    fail("{}: tensor {} has shape ({}, {}), expected ({}, {})", where, name, m.rows, m.cols, rows, cols);
}

}  // namespace

ModelWeights weights_from_transformer(const Transformer& model, DType type) {
  auto st = std::make_shared<Storage>();
  st->model = std::make_unique<Transformer>(model);  // shallow: shares the parameter buffers
  const Transformer& m = *st->model;
  const ModelConfig& c = m.config();
  ModelWeights w;
  w.config = c;
  const int64_t C = c.hidden_size, F = c.intermediate_size, Q = c.q_dim(), KV = c.kv_dim(), V = c.vocab_size;
  w.embed = convert_matrix(*st, param_data(m, "model.embed_tokens.weight"), V, C, type);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    auto p = [&](const char* suffix) { return param_data(m, layer_param(l, suffix)); };
    LayerWeights L;
    L.q = convert_matrix(*st, p("self_attn.q_proj.weight"), Q, C, type);
    L.k = convert_matrix(*st, p("self_attn.k_proj.weight"), KV, C, type);
    L.v = convert_matrix(*st, p("self_attn.v_proj.weight"), KV, C, type);
    L.o = convert_matrix(*st, p("self_attn.o_proj.weight"), C, Q, type);
    L.gate = convert_matrix(*st, p("mlp.gate_proj.weight"), F, C, type);
    L.up = convert_matrix(*st, p("mlp.up_proj.weight"), F, C, type);
    L.down = convert_matrix(*st, p("mlp.down_proj.weight"), C, F, type);
    if (c.qkv_bias) {
      L.q_bias = p("self_attn.q_proj.bias");
      L.k_bias = p("self_attn.k_proj.bias");
      L.v_bias = p("self_attn.v_proj.bias");
    }
    if (c.o_bias) L.o_bias = p("self_attn.o_proj.bias");
    L.attn_norm = p("input_layernorm.weight");
    L.mlp_norm = p("post_attention_layernorm.weight");
    w.layers.push_back(L);
  }
  w.final_norm = param_data(m, "model.norm.weight");
  w.lm_head = c.tie_word_embeddings ? w.embed : convert_matrix(*st, param_data(m, "lm_head.weight"), V, C, type);
  w.storage = st;
  return w;
}

ModelWeights load_model_weights(const std::string& path) { return load_model_weights(path, DType::F32); }

ModelWeights load_model_weights(const std::string& path, DType type) {
  if (!fs::exists(path)) fail("{}: no such model directory or file", path);
  if (fs::is_directory(path)) {
    ModelWeights w = weights_from_transformer(Transformer::load(path), type);
    w.chat_template = model_dir_chat_template(path);
    validate_model_weights(w, path);
    return w;
  }
  if (fs::path(path).extension() == ".gguf") {
    if (type != DType::F32)
      fail("{}: a GGUF file keeps its own weight types; convert it with `baimo quantize` instead", path);
    return load_gguf_model(path);
  }
  fail("{}: not a model directory (config.json + model.safetensors) or a .gguf file", path);
}

void validate_model_weights(const ModelWeights& w, const std::string& where) {
  const ModelConfig& c = w.config;
  const int64_t C = c.hidden_size, F = c.intermediate_size, Q = c.q_dim(), KV = c.kv_dim(), V = c.vocab_size;
  check_matrix(w.embed, V, C, where, "embed");
  check_matrix(w.lm_head, V, C, where, "lm_head");
  if (static_cast<int64_t>(w.layers.size()) != c.num_hidden_layers)
    fail("{}: {} layers, config says {}", where, w.layers.size(), c.num_hidden_layers);
  if (!w.final_norm) fail("{}: final norm is missing", where);
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& L = w.layers[l];
    const std::string n = fmt::format("layer {} ", l);
    check_matrix(L.q, Q, C, where, n + "q");
    check_matrix(L.k, KV, C, where, n + "k");
    check_matrix(L.v, KV, C, where, n + "v");
    check_matrix(L.o, C, Q, where, n + "o");
    check_matrix(L.gate, F, C, where, n + "gate");
    check_matrix(L.up, F, C, where, n + "up");
    check_matrix(L.down, C, F, where, n + "down");
    if (!L.attn_norm || !L.mlp_norm) fail("{}: {}norm weights are missing", where, n);
    if (c.qkv_bias && (!L.q_bias || !L.k_bias || !L.v_bias)) fail("{}: {}q/k/v bias is missing", where, n);
    if (c.o_bias && !L.o_bias) fail("{}: {}o bias is missing", where, n);
  }
}

}  // namespace baimo
