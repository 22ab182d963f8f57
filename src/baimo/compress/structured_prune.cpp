#include "baimo/compress/structured_prune.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "baimo/compress/calib_forward.h"
#include "baimo/compress/config_family.h"
#include "baimo/infer/model_weights.h"
#include "baimo/model/param_layout.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

// The `keep` largest of `score` (ties: the lower index), returned ascending.
std::vector<int64_t> top_ascending(const std::vector<double>& score, int64_t keep) {
  std::vector<int64_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    return score[static_cast<size_t>(a)] > score[static_cast<size_t>(b)];
  });
  idx.resize(static_cast<size_t>(keep));
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Row indices of whole blocks of `width` rows: block b -> rows b*width .. b*width + width - 1.
std::vector<int64_t> block_rows(const std::vector<int64_t>& blocks, int64_t width) {
  std::vector<int64_t> rows;
  for (int64_t b : blocks)
    for (int64_t r = 0; r < width; ++r) rows.push_back(b * width + r);
  return rows;
}

std::vector<float> take_rows(const std::vector<float>& src, int64_t cols, const std::vector<int64_t>& rows) {
  std::vector<float> out;
  out.reserve(rows.size() * static_cast<size_t>(cols));
  for (int64_t r : rows) out.insert(out.end(), src.begin() + r * cols, src.begin() + (r + 1) * cols);
  return out;
}

std::vector<float> take_cols(const std::vector<float>& src, int64_t rows, int64_t cols, const std::vector<int64_t>& keep) {
  std::vector<float> out;
  out.reserve(static_cast<size_t>(rows) * keep.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c : keep) out.push_back(src[static_cast<size_t>(r * cols + c)]);
  return out;
}

}  // namespace

void check_structured_target(const ModelConfig& big, const ModelConfig& small) {
  require_same_family(big, small, "the model's", "the target config's");
  if (small.hidden_size != big.hidden_size)
    fail("the target config's hidden_size {} differs from the model's {}: structured pruning removes layers, "
         "KV head groups and MLP channels, not hidden units", small.hidden_size, big.hidden_size);
  if (small.num_hidden_layers > big.num_hidden_layers)
    fail("the target config's num_hidden_layers {} exceeds the model's {} (to add layers: baimo grow)",
         small.num_hidden_layers, big.num_hidden_layers);
  if (small.num_key_value_heads > big.num_key_value_heads)
    fail("the target config's num_key_value_heads {} exceeds the model's {}", small.num_key_value_heads,
         big.num_key_value_heads);
  if (small.num_attention_heads * big.num_key_value_heads != big.num_attention_heads * small.num_key_value_heads)
    fail("the target config's num_attention_heads {} / num_key_value_heads {} must keep the model's {} query heads "
         "per KV head (whole groups are removed)", small.num_attention_heads, small.num_key_value_heads,
         big.num_attention_heads / big.num_key_value_heads);
  if (small.intermediate_size > big.intermediate_size)
    fail("the target config's intermediate_size {} exceeds the model's {}", small.intermediate_size,
         big.intermediate_size);
}

StructureImportance measure_structure_importance(const ModelConfig& cfg, const ParamMap& params,
                                                 const std::vector<std::vector<int32_t>>& calib) {
  if (calib.empty()) fail("structured pruning needs calibration text (--calib)");
  const ModelWeights w = f32_weights_over(cfg, params);
  CalibrationForward fwd(w, calib);
  const int64_t L = cfg.num_hidden_layers, KV = cfg.num_key_value_heads, D = cfg.head_dim, C = cfg.hidden_size;
  const int64_t per_group = cfg.num_attention_heads / KV;
  StructureImportance imp;
  for (int64_t l = 0; l < L; ++l) {
    const LayerInputSquares sq = fwd.input_squares(l);
    std::vector<double>& groups = imp.kv_group.emplace_back(static_cast<size_t>(KV), 0.0);
    for (int64_t h = 0; h < cfg.num_attention_heads; ++h)
      for (int64_t d = 0; d < D; ++d) groups[static_cast<size_t>(h / per_group)] += sq.o_in[static_cast<size_t>(h * D + d)];
    imp.channel.push_back(sq.down_in);
    const std::vector<float> in = fwd.residual();
    fwd.advance(l);
    const std::vector<float>& out = fwd.residual();
    double cos_sum = 0;
    for (int64_t t = 0; t < fwd.tokens(); ++t) {
      double dot = 0, na = 0, nb = 0;
      for (int64_t j = 0; j < C; ++j) {
        const double a = in[static_cast<size_t>(t * C + j)], b = out[static_cast<size_t>(t * C + j)];
        dot += a * b, na += a * a, nb += b * b;
      }
      cos_sum += na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 1.0;
    }
    imp.layer.push_back(1.0 - cos_sum / static_cast<double>(fwd.tokens()));
  }
  return imp;
}

StructuredPlan plan_structured_prune(const ModelConfig& big, const ModelConfig& small, const StructureImportance& imp) {
  check_structured_target(big, small);
  StructuredPlan p;
  p.layers = top_ascending(imp.layer, small.num_hidden_layers);
  for (int64_t l : p.layers) {
    p.kv_groups.push_back(top_ascending(imp.kv_group.at(static_cast<size_t>(l)), small.num_key_value_heads));
    p.channels.push_back(top_ascending(imp.channel.at(static_cast<size_t>(l)), small.intermediate_size));
  }
  return p;
}

ParamMap apply_structured_prune(const ModelConfig& big, const ParamMap& params, const ModelConfig& small,
                              const StructuredPlan& plan) {
  const std::vector<ParamSpec> big_layout = param_layout(big);
  const int64_t D = big.head_dim, per_group = big.num_attention_heads / big.num_key_value_heads;
  ParamMap out;
  // Group g owns query heads g*G .. g*G + G - 1; head h owns rows (q) / columns (o) h*D .. h*D + D - 1.
  for (const ParamSpec& s : param_layout(small)) {
    const size_t i = s.layer < 0 ? 0 : static_cast<size_t>(s.layer);
    const int64_t layer = s.layer < 0 ? -1 : plan.layers.at(i);
    const ParamSpec& from = layout_spec(big_layout, s.role, layer);
    const std::vector<float>& src = param_values(params, from);
    const int64_t cols = from.shape.size() > 1 ? from.shape[1] : 1;
    std::vector<float>& dst = out[s.name];
    switch (s.role) {
      case ParamRole::Q:
      case ParamRole::QBias: dst = take_rows(src, cols, block_rows(block_rows(plan.kv_groups[i], per_group), D)); break;
      case ParamRole::K:
      case ParamRole::KBias:
      case ParamRole::V:
      case ParamRole::VBias: dst = take_rows(src, cols, block_rows(plan.kv_groups[i], D)); break;
      case ParamRole::O:
        dst = take_cols(src, from.shape[0], cols, block_rows(block_rows(plan.kv_groups[i], per_group), D));
        break;
      case ParamRole::Gate:
      case ParamRole::Up: dst = take_rows(src, cols, plan.channels[i]); break;
      case ParamRole::Down: dst = take_cols(src, from.shape[0], cols, plan.channels[i]); break;
      default: dst = src;  // embeddings, norms, o bias, lm_head: unchanged
    }
    if (static_cast<int64_t>(dst.size()) != s.numel())
      fail("structured pruning: {} came out with {} values, expected {}", s.name, dst.size(), s.numel());
  }
  return out;
}

}  // namespace baimo
