// Warm-start growth: the weights of a trained small model become the initial weights of a bigger
// config of the same family (same vocabulary, head size, biases, tying and RoPE).
//   Width (HyperCloning, Samragh et al. 2024; Net2Net made exact): hidden_size x k (attention and KV
//     heads x k, head_dim kept) and intermediate_size x f, for integers k, f >= 1. Hidden unit j
//     becomes the k units a*C + j, head h the k heads a*H + h, MLP channel i the f channels a*F + i.
//     The grown residual stream is the small one repeated k times and divided by k, so every RMSNorm
//     sees the same normalised values and the logits are the small model's (up to rms_norm_eps):
//     a weight reading copied inputs gets W/k per copy, a write into the residual another 1/k.
//     Zero-sum noise across a weight's input copies (`noise`, a fraction of the matrix's RMS) changes
//     no output but breaks the copies' symmetry: exact copies would get equal gradients forever.
//   Depth: num_hidden_layers L' >= L.
//     Stack (G_stack, Du et al. 2024): layer i is small layer i mod L, the stack repeated. Not
//       function-preserving: the step-0 loss rises, and training goes on from there.
//     Identity (LLaMA Pro, Wu et al. 2024): each small layer is followed by its share of the L' - L
//       new layers, copies of it whose o_proj (and bias) and down_proj are zero, so they add nothing
//       to the residual: the grown model computes the small model's function.
// Contract: plan_growth checks the two configs and throws baimo::Error naming the field and both
// values; grow_model returns every parameter of param_layout(big), deterministic in `seed`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "baimo/compress/param_map.h"
#include "baimo/model/config.h"

namespace baimo {

enum class DepthGrowth { Stack, Identity };
DepthGrowth parse_depth_growth(const std::string& s);  // "stack" | "identity"

struct GrowthPlan {
  int64_t width = 1;                 // hidden_size (and heads) factor k
  int64_t ffn = 1;                   // intermediate_size factor f
  std::vector<int64_t> source;       // big layer -> the small layer it copies
  std::vector<bool> zero_output;     // big layer i is an identity copy (o_proj, down_proj zero)
};

GrowthPlan plan_growth(const ModelConfig& small, const ModelConfig& big, DepthGrowth depth);

ParamMap grow_model(const ModelConfig& small, const ParamMap& params, const ModelConfig& big, const GrowthPlan& plan,
                    double noise, uint64_t seed);

}  // namespace baimo
