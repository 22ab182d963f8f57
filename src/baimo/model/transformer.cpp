#include "baimo/model/transformer.h"

#include <algorithm>
#include <numeric>

#include "baimo/autograd/checkpoint.h"
#include "baimo/model/init.h"
#include "baimo/kernels/backend.h"
#include "baimo/util/error.h"

namespace baimo {

namespace {
std::span<float> var_values(const ag::Var& v) {
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
  for (auto& p : m.params_) init_param(p.spec, cfg.initializer_range, seed, var_values(p.var));
  return m;
}

Transformer Transformer::load(const std::string& dir) {
  Transformer m(load_model_dir_config(dir));
  read_model_dir_tensors(dir, m.cfg_, [&](const ParamSpec& s) { return var_values(m.param(s.name)); });
  return m;
}

void Transformer::save(const std::string& dir, const ModelDirSave& opts) const {
  std::vector<SafetensorWrite> writes;
  std::vector<std::vector<float>> dequantized;  // frozen matrices as f32, alive until written
  for (const ParamSpec& s : param_layout(cfg_)) {
    if (index_.count(s.name)) {
      writes.push_back({s.name, s.shape, var_values(param(s.name))});
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
      if (p.spec.role == ParamRole::Score) score_ = v;
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
  if (cfg_.tie_word_embeddings && !cfg_.is_reward_model()) lm_head_ = embed_;
  wire_frozen();
  apply_lora();
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
  if (cfg_.tie_word_embeddings && !cfg_.is_reward_model()) lm_head_frozen_ = embed_frozen_;
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
      const nn::Linear& lin = target_linear(blocks_[static_cast<size_t>(s.layer)], s.role);
      const int64_t out = lin.frozen.defined() ? lin.frozen.rows : lin.weight.size(0);
      const int64_t in = lin.frozen.defined() ? lin.frozen.cols : lin.weight.size(1);
      if (!p.a.defined() || !p.b.defined() || p.a.value().dim() != 2 || p.b.value().dim() != 2 ||
          p.a.size(1) != in || p.b.size(0) != out || p.a.size(0) != p.b.size(1) || p.a.size(0) != adapter->config.r)
        fail("LoRA adapter: {} {} and {} {} do not fit base {} ({}, {}) with r = {}", s.a_name,
             p.a.defined() ? p.a.shape().str() : "undefined", s.b_name,
             p.b.defined() ? p.b.shape().str() : "undefined", s.base_name, out, in, adapter->config.r);
      if (p.a.value().dtype() != DType::F32 || p.b.value().dtype() != DType::F32)
        fail("LoRA adapter: {} and {} must be F32", s.a_name, s.b_name);
    }
    const std::vector<int32_t>& ids = adapter->config.trainable_tokens;
    const ag::Var& rows = adapter->token_rows;
    if (ids.empty() != !rows.defined())
      fail("LoRA adapter: {} trainable token ids but {}", ids.size(), rows.defined() ? "token rows" : "no token rows");
    if (rows.defined()) {
      if (rows.value().dtype() != DType::F32 || rows.value().dim() != 2 ||
          rows.size(0) != static_cast<int64_t>(ids.size()) || rows.size(1) != cfg_.hidden_size)
        fail("LoRA adapter: {} is {}, expected ({}, {}) F32 (trainable tokens x hidden size)", kTokenRowsName,
             rows.shape().str(), ids.size(), cfg_.hidden_size);
      for (int32_t id : ids)
        if (id < 0 || id >= cfg_.vocab_size)
          fail("LoRA adapter: trainable token id {} is outside the vocabulary of {}", id, cfg_.vocab_size);
    }
  }
  lora_ = adapter;
  apply_lora();
}

Tensor Transformer::embedding_rows(const std::vector<int32_t>& ids) const {
  for (int32_t id : ids)
    if (id < 0 || id >= cfg_.vocab_size) fail("embedding_rows: token id {} is outside [0, {})", id, cfg_.vocab_size);
  const int64_t C = cfg_.hidden_size;
  Tensor out = Tensor::zeros({static_cast<int64_t>(ids.size()), C});
  float* o = out.data<float>();
  if (embed_frozen_.defined()) {
    backend().weight_rows(embed_frozen_, ids.data(), static_cast<int64_t>(ids.size()), o);
  } else {
    const float* e = embed_.value().data<float>();
    for (size_t k = 0; k < ids.size(); ++k) std::copy_n(e + ids[k] * C, C, o + static_cast<int64_t>(k) * C);
  }
  return out;
}

ag::TokenRows Transformer::head_tokens() const {
  if (!lora_ || !cfg_.tie_word_embeddings || cfg_.is_reward_model()) return {};
  return lora_->tokens();
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
  if (embed_frozen_.defined() || lm_head_frozen_.defined())
    fail("resize_vocab: the embedding is a frozen base matrix; grow the vocabulary of an f32 model");
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

// block(x) through ag::checkpoint. The closure holds a copy of the block (its Var handles and this
// forward's LoRA dropout seeds: a later set_lora_dropout or attach_lora does not change the
// recomputation) and of the positions / segments tensors.
ag::Var checkpointed_block(const nn::DecoderBlock& block, const ag::Var& x, const Tensor& positions,
                           const Tensor* segments) {
  const Tensor seg = segments ? *segments : Tensor();
  ag::CheckpointFn fn = [block, positions, seg](const std::vector<ag::Var>& in) {
    return block(in[0], positions, seg.defined() ? &seg : nullptr);
  };
  const std::vector<ag::Var> captured = block.vars();
  return ag::checkpoint(std::move(fn), {x}, captured);
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
  ag::Var x = embed_frozen_.defined() ? ag::embedding_frozen(embed_frozen_, ids) : ag::embedding(embed_, ids);  // (B, T, C)
  if (lora_ && lora_->token_rows.defined()) x = ag::replace_rows(x, ids, lora_->tokens());
  for (const auto& b : blocks_)
    x = grad_checkpoint_ ? checkpointed_block(b, x, rope_positions, segments) : b(x, rope_positions, segments);
  return norm_(x);
}

ag::Var Transformer::lm_head(const ag::Var& h) const {
  require_causal_lm(cfg_, "this model");
  const ag::Var logits = lm_head_frozen_.defined() ? ag::linear_frozen(h, lm_head_frozen_) : ag::linear(h, lm_head_);
  const ag::TokenRows rows = head_tokens();
  return rows.empty() ? logits : ag::replace_columns(logits, h, rows);
}

ag::Var Transformer::loss(const Tensor& ids, const Tensor& targets, const Tensor* positions, const Tensor* segments,
                          int32_t ignore_index) const {
  require_causal_lm(cfg_, "this model");
  const ag::Var h = hidden(ids, positions, segments);
  const ag::TokenRows rows = head_tokens();
  return lm_head_frozen_.defined() ? ag::lm_head_loss_frozen(h, lm_head_frozen_, targets, ignore_index, {}, rows)
                                   : ag::lm_head_loss(h, lm_head_, targets, ignore_index, {}, rows);
}

ag::Var Transformer::token_logprobs(const Tensor& ids, const Tensor& targets, const Tensor* positions,
                                    const Tensor* segments, int32_t ignore_index) const {
  require_causal_lm(cfg_, "this model");
  const ag::Var h = hidden(ids, positions, segments);
  const ag::TokenRows rows = head_tokens();
  return lm_head_frozen_.defined() ? ag::lm_head_logprobs_frozen(h, lm_head_frozen_, targets, ignore_index, {}, rows)
                                   : ag::lm_head_logprobs(h, lm_head_, targets, ignore_index, {}, rows);
}

ag::Var Transformer::rewards(const Tensor& ids, const Tensor* positions, const Tensor* segments,
                             const Tensor& last_rows) const {
  require_reward_model(cfg_, "this model");
  if (last_rows.dtype() != DType::I32 || last_rows.dim() != 1)
    fail("rewards: last_rows must be I32 (M), got {}", last_rows.shape().str());
  const ag::Var h = hidden(ids, positions, segments);  // (B, T, C)
  const int64_t rows = ids.size(0) * ids.size(1), C = cfg_.hidden_size;
  const int32_t* r = last_rows.data<int32_t>();
  for (int64_t m = 0; m < last_rows.numel(); ++m)
    if (r[m] < 0 || r[m] >= rows) fail("rewards: last_rows[{}] = {} is outside [0, B*T = {})", m, r[m], rows);
  // Gathering rows of the (B*T, C) states is an embedding lookup with them as the table.
  const ag::Var last = ag::embedding(ag::reshape(h, Shape{rows, C}), last_rows);  // (M, C)
  return ag::reshape(ag::linear(last, score_), Shape{last_rows.numel()});         // (M, 1) -> (M)
}

}  // namespace baimo
