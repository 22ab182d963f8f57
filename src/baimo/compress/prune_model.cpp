#include "baimo/compress/prune_model.h"

#include <algorithm>
#include <cmath>

#include "baimo/compress/calib_forward.h"
#include "baimo/infer/model_weights.h"
#include "baimo/model/param_layout.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

bool prunable(ParamRole r) {
  return r == ParamRole::Q || r == ParamRole::K || r == ParamRole::V || r == ParamRole::O || r == ParamRole::Gate ||
         r == ParamRole::Up || r == ParamRole::Down;
}

// sqrt of each sum of squares, in f32 (Wanda's ||X_j||_2).
std::vector<float> norms(const std::vector<double>& sq) {
  std::vector<float> n(sq.size());
  for (size_t j = 0; j < sq.size(); ++j) n[j] = static_cast<float>(std::sqrt(sq[j]));
  return n;
}

const std::vector<double>& input_of(const LayerInputSquares& sq, ParamRole r) {
  switch (r) {
    case ParamRole::O:
      return sq.o_in;
    case ParamRole::Gate:
    case ParamRole::Up:
      return sq.mlp_in;
    case ParamRole::Down:
      return sq.down_in;
    default:
      return sq.attn_in;
  }
}

}  // namespace

void check_prunable(const ModelConfig& cfg, const PruneSpec& spec) {
  for (const ParamSpec& s : param_layout(cfg))
    if (prunable(s.role) && spec.n_m() && s.shape[1] % spec.m != 0)
      fail("pruning {} ({}, {}) with {}: the input dimension {} is not divisible by M = {}", s.name, s.shape[0],
           s.shape[1], spec.describe(), s.shape[1], spec.m);
}

PruneMethod parse_prune_method(const std::string& s) {
  if (s == "magnitude") return PruneMethod::Magnitude;
  if (s == "wanda") return PruneMethod::Wanda;
  fail("--method {}: expected magnitude or wanda", s);
}

std::vector<PrunedMatrix> prune_model(const ModelConfig& cfg, ParamMap& params,
                                      PruneMethod method, const PruneSpec& spec,
                                      const std::vector<std::vector<int32_t>>& calib) {
  const std::vector<ParamSpec> layout = param_layout(cfg);
  // Check every shape before changing anything.
  check_prunable(cfg, spec);
  for (const ParamSpec& s : layout)
    if (prunable(s.role)) param_values(params, s);
  std::vector<PrunedMatrix> out;
  auto prune_one = [&](const ParamSpec& s, std::span<const float> scale) {
    std::vector<float>& v = param_values(params, s);
    prune_rows(v, s.shape[0], s.shape[1], scale, spec, s.name);
    out.push_back({s.name, s.layer, s.shape[0], s.shape[1], std::count(v.begin(), v.end(), 0.0f)});
  };
  if (method == PruneMethod::Magnitude) {
    for (const ParamSpec& s : layout)
      if (prunable(s.role)) prune_one(s, {});
    return out;
  }
  if (calib.empty()) fail("wanda pruning needs calibration text (--calib)");
  // The model as the engine's step reads it: f32 matrices over the caller's buffers (pruned in place).
  const ModelWeights w = f32_weights_over(cfg, params);
  CalibrationForward fwd(w, calib);
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    const LayerInputSquares sq = fwd.input_squares(l);
    for (const ParamSpec& s : layout)
      if (s.layer == l && prunable(s.role)) prune_one(s, norms(input_of(sq, s.role)));
    if (l + 1 < cfg.num_hidden_layers) fwd.advance(l);
  }
  return out;
}

}  // namespace baimo
