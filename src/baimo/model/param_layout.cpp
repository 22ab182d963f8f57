#include "baimo/model/param_layout.h"

#include <fmt/format.h>

namespace baimo {

std::string layer_param(int64_t layer, const char* suffix) { return fmt::format("model.layers.{}.{}", layer, suffix); }

std::vector<ParamSpec> param_layout(const ModelConfig& c) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, Q = c.q_dim(), KV = c.kv_dim();
  std::vector<ParamSpec> out;
  out.push_back({"model.embed_tokens.weight", {c.vocab_size, C}, ParamKind::Embedding});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    out.push_back({layer_param(l, "input_layernorm.weight"), {C}, ParamKind::Norm});
    out.push_back({layer_param(l, "self_attn.q_proj.weight"), {Q, C}, ParamKind::Matrix});
    if (c.qkv_bias) out.push_back({layer_param(l, "self_attn.q_proj.bias"), {Q}, ParamKind::Bias});
    out.push_back({layer_param(l, "self_attn.k_proj.weight"), {KV, C}, ParamKind::Matrix});
    if (c.qkv_bias) out.push_back({layer_param(l, "self_attn.k_proj.bias"), {KV}, ParamKind::Bias});
    out.push_back({layer_param(l, "self_attn.v_proj.weight"), {KV, C}, ParamKind::Matrix});
    if (c.qkv_bias) out.push_back({layer_param(l, "self_attn.v_proj.bias"), {KV}, ParamKind::Bias});
    out.push_back({layer_param(l, "self_attn.o_proj.weight"), {C, Q}, ParamKind::Matrix});
    if (c.o_bias) out.push_back({layer_param(l, "self_attn.o_proj.bias"), {C}, ParamKind::Bias});
    out.push_back({layer_param(l, "post_attention_layernorm.weight"), {C}, ParamKind::Norm});
    out.push_back({layer_param(l, "mlp.gate_proj.weight"), {F, C}, ParamKind::Matrix});
    out.push_back({layer_param(l, "mlp.up_proj.weight"), {F, C}, ParamKind::Matrix});
    out.push_back({layer_param(l, "mlp.down_proj.weight"), {C, F}, ParamKind::Matrix});
  }
  out.push_back({"model.norm.weight", {C}, ParamKind::Norm});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {c.vocab_size, C}, ParamKind::Matrix});
  return out;
}

}  // namespace baimo
