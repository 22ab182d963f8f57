// Structured pruning (the Minitron route, Muralidharan et al. 2024: prune by measured importance, then
// distill to recover): a model becomes a smaller config of the same family by removing whole layers,
// key/value head groups and MLP channels. The importances come from one pass of calibration text
// through the dense model (calib_forward.h):
//   layer l: block influence (ShortGPT, Men et al. 2024) = 1 - mean over tokens of cos(x_in, x_out),
//     how much the layer changes the residual stream; the least influential layers go;
//   KV group g of a layer (its key/value head and the num_attention_heads / num_key_value_heads query
//     heads that read it): sum over tokens of the squared attention outputs of its query heads (the
//     o_proj inputs they write);
//   MLP channel i of a layer: sum over tokens of silu(gate_i) * up_i squared (the down_proj input).
// Each kept layer keeps its most important groups and channels, in their original order.
// The target config keeps model_type, vocab, hidden_size, head_dim, query heads per KV head, biases,
// tying and RoPE; it may lower num_hidden_layers, num_key_value_heads (num_attention_heads with it) and
// intermediate_size. check_structured_target throws baimo::Error naming the field.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "baimo/compress/param_map.h"
#include "baimo/model/config.h"

namespace baimo {

struct StructureImportance {
  std::vector<double> layer;                 // (L) block influence
  std::vector<std::vector<double>> kv_group; // (L, KV)
  std::vector<std::vector<double>> channel;  // (L, F)
};

struct StructuredPlan {
  std::vector<int64_t> layers;                 // kept layers, ascending (small layer i = big layers[i])
  std::vector<std::vector<int64_t>> kv_groups; // per kept layer: kept KV groups, ascending
  std::vector<std::vector<int64_t>> channels;  // per kept layer: kept MLP channels, ascending
};

void check_structured_target(const ModelConfig& big, const ModelConfig& small);

StructureImportance measure_structure_importance(const ModelConfig& cfg, const ParamMap& params,
                                                 const std::vector<std::vector<int32_t>>& calib);

StructuredPlan plan_structured_prune(const ModelConfig& big, const ModelConfig& small, const StructureImportance& imp);

// The small model's parameters (param_layout(small)) cut out of the big model's by `plan`.
ParamMap apply_structured_prune(const ModelConfig& big, const ParamMap& params, const ModelConfig& small,
                                const StructuredPlan& plan);

}  // namespace baimo
