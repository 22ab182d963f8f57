#include "baimo/model/param_layout.h"

#include <fmt/format.h>

namespace baimo {

std::string layer_param(int64_t layer, const char* suffix) { return fmt::format("model.layers.{}.{}", layer, suffix); }

std::vector<ParamSpec> param_layout(const ModelConfig& c) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, Q = c.q_dim(), KV = c.kv_dim();
  using K = ParamKind;
  using R = ParamRole;
  std::vector<ParamSpec> out;
  out.push_back({"model.embed_tokens.weight", {c.vocab_size, C}, K::Embedding, R::Embed});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    auto add = [&](const char* suffix, std::vector<int64_t> shape, ParamKind kind, ParamRole role) {
      out.push_back({layer_param(l, suffix), std::move(shape), kind, role, l});
    };
    add("input_layernorm.weight", {C}, K::Norm, R::AttnNorm);
    add("self_attn.q_proj.weight", {Q, C}, K::Matrix, R::Q);
    if (c.qkv_bias) add("self_attn.q_proj.bias", {Q}, K::Bias, R::QBias);
    add("self_attn.k_proj.weight", {KV, C}, K::Matrix, R::K);
    if (c.qkv_bias) add("self_attn.k_proj.bias", {KV}, K::Bias, R::KBias);
    add("self_attn.v_proj.weight", {KV, C}, K::Matrix, R::V);
    if (c.qkv_bias) add("self_attn.v_proj.bias", {KV}, K::Bias, R::VBias);
    add("self_attn.o_proj.weight", {C, Q}, K::Matrix, R::O);
    if (c.o_bias) add("self_attn.o_proj.bias", {C}, K::Bias, R::OBias);
    add("post_attention_layernorm.weight", {C}, K::Norm, R::MlpNorm);
    add("mlp.gate_proj.weight", {F, C}, K::Matrix, R::Gate);
    add("mlp.up_proj.weight", {F, C}, K::Matrix, R::Up);
    add("mlp.down_proj.weight", {C, F}, K::Matrix, R::Down);
  }
  out.push_back({"model.norm.weight", {C}, K::Norm, R::FinalNorm});
  if (c.is_reward_model())
    out.push_back({"score.weight", {c.num_labels, C}, K::Matrix, R::Score});
  else if (!c.tie_word_embeddings)
    out.push_back({"lm_head.weight", {c.vocab_size, C}, K::Matrix, R::LmHead});
  return out;
}

}  // namespace baimo
