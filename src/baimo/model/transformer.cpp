#include "baimo/model/transformer.h"

#include <numeric>

#include "baimo/model/init.h"
#include "baimo/kernels/backend.h"
#include "baimo/util/error.h"

namespace baimo {

namespace {
std::span<float> values(const ag::Var& v) {
  return {v.value().data<float>(), static_cast<size_t>(v.numel())};
}
}  // namespace

Transformer::Transformer(const ModelConfig& cfg) : cfg_(cfg) {
  cfg_.validate("model config");
  for (ParamSpec& s : param_layout(cfg_)) {
    Tensor t = Tensor::zeros(Shape(std::span<const int64_t>(s.shape)));
    index_[s.name] = params_.size();
    params_.push_back({s, ag::Var::leaf(t, true, s.name)});
  }
  wire();
}

Transformer::Transformer(const ModelConfig& cfg, std::vector<FrozenParam> frozen, std::shared_ptr<const void> storage)
    : cfg_(cfg), frozen_storage_(std::move(storage)) {
  cfg_.validate("model config");
  std::map<std::string, WeightMatrix> by_name;
  for (FrozenParam& f : frozen) {
    if (!by_name.emplace(f.spec.name, f.w).second) fail("model: frozen parameter {} given twice", f.spec.name);
  }
  for (ParamSpec& s : param_layout(cfg_)) {
    auto it = by_name.find(s.name);
    if (it == by_name.end()) {
      Tensor t = Tensor::zeros(Shape(std::span<const int64_t>(s.shape)));
      index_[s.name] = params_.size();
      params_.push_back({s, ag::Var::leaf(t, true, s.name)});
      continue;
    }
    const WeightMatrix& w = it->second;
    if (s.shape.size() != 2) fail("model: parameter {} is not a matrix and cannot be frozen", s.name);
    if (w.rows != s.shape[0] || w.cols != s.shape[1] || !w.defined())
      fail("model: frozen {} is ({}, {}){}, the config says ({}, {})", s.name, w.rows, w.cols,
           w.defined() ? "" : " without data", s.shape[0], s.shape[1]);
    frozen_.push_back({s, w});
    by_name.erase(it);
  }
  if (!by_name.empty()) fail("model: frozen parameter {} is not in the model's layout", by_name.begin()->first);
  wire();
}

Transformer Transformer::random(const ModelConfig& cfg, uint64_t seed) {
  Transformer m(cfg);
  for (auto& p : m.params_) init_param(p.spec, cfg.initializer_range, seed, values(p.var));
  return m;
}

Transformer Transformer::load(const std::string& dir) {
  Transformer m(load_model_dir_config(dir));
  read_model_dir_tensors(dir, m.cfg_, [&](const ParamSpec& s) { return values(m.param(s.name)); });
  return m;
}

void Transformer::save(const std::string& dir, const ModelDirSave& opts) const {
  std::vector<SafetensorWrite> writes;
  std::vector<std::vector<float>> dequantized;  // frozen matrices as f32, alive until written
  for (const ParamSpec& s : param_layout(cfg_)) {
    if (index_.count(s.name)) {
      writes.push_back({s.name, s.shape, values(param(s.name))});
      continue;
    }
    for (const FrozenParam& f : frozen_) {
      if (f.spec.name != s.name) continue;
      std::vector<float>& buf = dequantized.emplace_back(static_cast<size_t>(s.numel()));
      std::vector<int32_t> rows(static_cast<size_t>(f.w.rows));
      std::iota(rows.begin(), rows.end(), 0);
      backend().weight_rows(f.w, rows.data(), f.w.rows, buf.data());
      writes.push_back({s.name, s.shape, buf});
    }
  }
  save_model_dir(dir, cfg_, writes, opts);
}

std::vector<ag::Var> Transformer::param_vars() const {
  std::vector<ag::Var> out;
  for (const auto& p : params_) out.push_back(p.var);
  return out;
}

const ag::Var& Transformer::param(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    for (const FrozenParam& f : frozen_)
      if (f.spec.name == name) fail("model parameter \"{}\" is a frozen {} matrix (no f32 Var)", name, dtype_info(f.w.type).name);
    fail("model has no parameter \"{}\"", name);
  }
  return params_[it->second].var;
}

// Every parameter goes to its module by its role in param_layout (the one schema); absent optional
// parameters (biases) leave their Var undefined.
void Transformer::wire() {
  const float eps = static_cast<float>(cfg_.rms_norm_eps);
  blocks_.assign(static_cast<size_t>(cfg_.num_hidden_layers), nn::DecoderBlock{});
  for (nn::DecoderBlock& b : blocks_) {
    b.input_layernorm.eps = b.post_attention_layernorm.eps = eps;
    b.self_attn.n_heads = cfg_.num_attention_heads;
    b.self_attn.n_kv_heads = cfg_.num_key_value_heads;
    b.self_attn.rope_theta = static_cast<float>(cfg_.rope_theta);
  }
  norm_.eps = eps;
  for (const Param& p : params_) {
    const ag::Var& v = p.var;
    if (p.spec.layer < 0) {
      if (p.spec.role == ParamRole::Embed) embed_ = v;
      if (p.spec.role == ParamRole::FinalNorm) norm_.weight = v;
      if (p.spec.role == ParamRole::LmHead) lm_head_ = v;
      continue;
    }
    nn::DecoderBlock& b = blocks_[static_cast<size_t>(p.spec.layer)];
    switch (p.spec.role) {
      case ParamRole::AttnNorm: b.input_layernorm.weight = v; break;
      case ParamRole::Q: b.self_attn.q_proj.weight = v; break;
      case ParamRole::QBias: b.self_attn.q_proj.bias = v; break;
      case ParamRole::K: b.self_attn.k_proj.weight = v; break;
      case ParamRole::KBias: b.self_attn.k_proj.bias = v; break;
      case ParamRole::V: b.self_attn.v_proj.weight = v; break;
      case ParamRole::VBias: b.self_attn.v_proj.bias = v; break;
      case ParamRole::O: b.self_attn.o_proj.weight = v; break;
      case ParamRole::OBias: b.self_attn.o_proj.bias = v; break;
      case ParamRole::MlpNorm: b.post_attention_layernorm.weight = v; break;
      case ParamRole::Gate: b.mlp.gate_proj.weight = v; break;
      case ParamRole::Up: b.mlp.up_proj.weight = v; break;
      case ParamRole::Down: b.mlp.down_proj.weight = v; break;
      default: fail("model: parameter {} has no place in a layer", p.spec.name);
    }
  }
  if (cfg_.tie_word_embeddings) lm_head_ = embed_;
  wire_frozen();
}

// Frozen base matrices go to the same slots by role; the layer products read them in place of a
// weight Var (nn::Linear::frozen).
void Transformer::wire_frozen() {
  for (const FrozenParam& f : frozen_) {
    if (f.spec.layer < 0) {
      if (f.spec.role == ParamRole::Embed) embed_frozen_ = f.w;
      if (f.spec.role == ParamRole::LmHead) lm_head_frozen_ = f.w;
      continue;
    }
    nn::DecoderBlock& b = blocks_[static_cast<size_t>(f.spec.layer)];
    switch (f.spec.role) {
      case ParamRole::Q: b.self_attn.q_proj.frozen = f.w; break;
      case ParamRole::K: b.self_attn.k_proj.frozen = f.w; break;
      case ParamRole::V: b.self_attn.v_proj.frozen = f.w; break;
      case ParamRole::O: b.self_attn.o_proj.frozen = f.w; break;
      case ParamRole::Gate: b.mlp.gate_proj.frozen = f.w; break;
      case ParamRole::Up: b.mlp.up_proj.frozen = f.w; break;
      case ParamRole::Down: b.mlp.down_proj.frozen = f.w; break;
      default: fail("model: frozen parameter {} has no place in a layer", f.spec.name);
    }
  }
  if (cfg_.tie_word_embeddings) lm_head_frozen_ = embed_frozen_;
}

ag::Var Transformer::hidden(const Tensor& ids) const {
  if (ids.dtype() != DType::I32 || ids.dim() != 2) fail("model input ids must be I32 (B, T), got {}", ids.shape().str());
  const int64_t T = ids.size(1);
  if (T > cfg_.max_position_embeddings)
    fail("sequence length {} exceeds max_position_embeddings {}", T, cfg_.max_position_embeddings);
  std::vector<int32_t> pos(static_cast<size_t>(T));
  std::iota(pos.begin(), pos.end(), 0);
  Tensor positions = Tensor::from_ids({T}, pos);
  ag::Var x = embed_frozen_.defined() ? ag::embedding_frozen(embed_frozen_, ids) : ag::embedding(embed_, ids);  // (B, T, C)
  for (const auto& b : blocks_) x = b(x, positions);
  return norm_(x);
}

ag::Var Transformer::lm_head(const ag::Var& h) const {
  return lm_head_frozen_.defined() ? ag::linear_frozen(h, lm_head_frozen_) : ag::linear(h, lm_head_);
}

}  // namespace baimo
