#include "baimo/model/transformer.h"

#include <algorithm>
#include <numeric>

#include "baimo/model/init.h"
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
  for (const auto& p : params_) writes.push_back({p.spec.name, p.spec.shape, values(p.var)});
  save_model_dir(dir, cfg_, writes, opts);
}

std::vector<ag::Var> Transformer::param_vars() const {
  std::vector<ag::Var> out;
  for (const auto& p : params_) out.push_back(p.var);
  return out;
}

const ag::Var& Transformer::param(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail("model has no parameter \"{}\"", name);
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
  apply_lora();
}

namespace {
nn::Linear& target_linear(nn::DecoderBlock& b, ParamRole role) {
  switch (role) {
    case ParamRole::Q: return b.self_attn.q_proj;
    case ParamRole::K: return b.self_attn.k_proj;
    case ParamRole::V: return b.self_attn.v_proj;
    case ParamRole::O: return b.self_attn.o_proj;
    case ParamRole::Gate: return b.mlp.gate_proj;
    case ParamRole::Up: return b.mlp.up_proj;
    case ParamRole::Down: return b.mlp.down_proj;
    default: fail("LoRA: parameter role {} is not a linear layer LoRA can adapt", static_cast<int>(role));
  }
}

// Dropout seed of one (layer, target): the step's seed mixed with both (splitmix64 steps).
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
uint64_t lora_dropout_seed(uint64_t seed, int64_t layer, ParamRole role) {
  return mix64(mix64(seed) ^ (static_cast<uint64_t>(layer) * 64 + static_cast<uint64_t>(role)));
}
}  // namespace

void Transformer::attach_lora(const LoraAdapter* adapter) {
  if (adapter) {
    adapter->config.validate("LoRA adapter");
    for (const LoraAdapter::Pair& p : adapter->pairs) {
      const LoraSpec& s = p.spec;
      if (s.layer < 0 || s.layer >= cfg_.num_hidden_layers)
        fail("LoRA adapter: {} is for layer {}, the model has {} layers", s.a_name, s.layer, cfg_.num_hidden_layers);
      const ag::Var& w = target_linear(blocks_[static_cast<size_t>(s.layer)], s.role).weight;
      if (!p.a.defined() || !p.b.defined() || p.a.value().dim() != 2 || p.b.value().dim() != 2 ||
          p.a.size(1) != w.size(1) || p.b.size(0) != w.size(0) || p.a.size(0) != p.b.size(1) ||
          p.a.size(0) != adapter->config.r)
        fail("LoRA adapter: {} {} and {} {} do not fit base {} {} with r = {}", s.a_name,
             p.a.defined() ? p.a.shape().str() : "undefined", s.b_name,
             p.b.defined() ? p.b.shape().str() : "undefined", s.base_name, w.shape().str(), adapter->config.r);
      if (p.a.value().dtype() != DType::F32 || p.b.value().dtype() != DType::F32)
        fail("LoRA adapter: {} and {} must be F32", s.a_name, s.b_name);
    }
  }
  lora_ = adapter;
  apply_lora();
}

void Transformer::set_lora_dropout(std::optional<uint64_t> seed) {
  lora_seed_ = seed;
  apply_lora();
}

void Transformer::apply_lora() {
  for (nn::DecoderBlock& b : blocks_)
    for (ParamRole r : {ParamRole::Q, ParamRole::K, ParamRole::V, ParamRole::O, ParamRole::Gate, ParamRole::Up,
                        ParamRole::Down})
      target_linear(b, r).lora = nn::LoraBranch{};
  if (!lora_) return;
  const float scaling = lora_->config.scaling();
  const float p = lora_seed_ ? lora_->config.dropout : 0.f;
  for (const LoraAdapter::Pair& pair : lora_->pairs) {
    nn::LoraBranch& br = target_linear(blocks_[static_cast<size_t>(pair.spec.layer)], pair.spec.role).lora;
    br.a = pair.a;
    br.b = pair.b;
    br.scaling = scaling;
    br.dropout = p;
    br.dropout_seed = lora_seed_ ? lora_dropout_seed(*lora_seed_, pair.spec.layer, pair.spec.role) : 0;
  }
}

void Transformer::set_base_trainable(bool trainable) {
  for (Param& p : params_) {
    ag::VarNode* n = p.var.node();
    n->requires_grad = trainable;
    if (!trainable) {
      n->grad = Tensor();
      n->grad_valid = false;
    }
  }
}

void Transformer::resize_vocab(int64_t new_vocab) {
  if (new_vocab < cfg_.vocab_size)
    fail("resize_vocab: cannot shrink the vocabulary from {} to {} rows", cfg_.vocab_size, new_vocab);
  if (new_vocab == cfg_.vocab_size) return;
  ModelConfig nc = cfg_;
  nc.vocab_size = new_vocab;
  nc.validate("resize_vocab");
  for (Param& p : params_) {
    if (p.spec.role != ParamRole::Embed && p.spec.role != ParamRole::LmHead) continue;
    const int64_t old_rows = p.var.size(0), C = p.var.size(1);
    Tensor t = Tensor::empty({new_vocab, C});
    float* dst = t.data<float>();
    const float* src = p.var.value().data<float>();
    std::copy(src, src + old_rows * C, dst);
    std::vector<double> mean(static_cast<size_t>(C), 0.0);
    for (int64_t r = 0; r < old_rows; ++r)
      for (int64_t c = 0; c < C; ++c) mean[static_cast<size_t>(c)] += src[r * C + c];
    for (int64_t r = old_rows; r < new_vocab; ++r)
      for (int64_t c = 0; c < C; ++c)
        dst[r * C + c] = static_cast<float>(mean[static_cast<size_t>(c)] / static_cast<double>(old_rows));
    p.var = ag::Var::leaf(t, p.var.requires_grad(), p.spec.name);
    p.spec.shape[0] = new_vocab;
  }
  cfg_ = nc;
  wire();
}

namespace {
// positions / segments of a packed batch: I32 (B, T) like ids, positions inside the model's range.
void check_packing(const Tensor& ids, const Tensor* positions, const Tensor* segments, int64_t max_pos) {
  for (const auto& [t, name] : {std::pair{positions, "positions"}, std::pair{segments, "segments"}})
    if (t && (t->dtype() != DType::I32 || !(t->shape() == ids.shape())))
      fail("model input {} must be I32 with the shape {} of the ids, got shape {}", name, ids.shape().str(),
           t->shape().str());
  if (!positions) return;
  const int32_t* p = positions->data<int32_t>();
  for (int64_t i = 0; i < positions->numel(); ++i)
    if (p[i] < 0 || p[i] >= max_pos)
      fail("model input positions[{}, {}] = {} is outside [0, max_position_embeddings {})", i / ids.size(1),
           i % ids.size(1), p[i], max_pos);
}
}  // namespace

ag::Var Transformer::hidden(const Tensor& ids, const Tensor* positions, const Tensor* segments) const {
  if (ids.dtype() != DType::I32 || ids.dim() != 2) fail("model input ids must be I32 (B, T), got {}", ids.shape().str());
  const int64_t T = ids.size(1);
  check_packing(ids, positions, segments, cfg_.max_position_embeddings);
  if (!positions && T > cfg_.max_position_embeddings)
    fail("sequence length {} exceeds max_position_embeddings {}", T, cfg_.max_position_embeddings);
  std::vector<int32_t> pos(static_cast<size_t>(positions ? 0 : T));
  std::iota(pos.begin(), pos.end(), 0);
  const Tensor default_positions = positions ? Tensor() : Tensor::from_ids({T}, pos);
  const Tensor& rope_positions = positions ? *positions : default_positions;
  ag::Var x = ag::embedding(embed_, ids);  // (B, T, C)
  for (const auto& b : blocks_) x = b(x, rope_positions, segments);
  return norm_(x);
}

ag::Var Transformer::lm_head(const ag::Var& h) const { return ag::linear(h, lm_head_); }

}  // namespace baimo
