#include "baimo/compress/grow_model.h"

#include <cmath>
#include <random>

#include "baimo/compress/config_family.h"
#include "baimo/model/param_layout.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

// The factor big / small of a size, which must be a whole number >= 1.
int64_t whole_factor(int64_t small, int64_t big, const char* field) {
  if (big < small || big % small != 0)
    fail("the big config's {} {} is not a whole multiple of the small model's {}: width grows by copying units",
         field, big, small);
  return big / small;
}

// How one parameter grows: its small shape is (out, in) (a vector: in = 1), and
//   dst[a*out + i][b*in + j] = scale * src[i][j] + noise, a < out_copies, b < in_copies,
// the noise summing to zero over b (so every output is unchanged while the inputs are copies).
struct Expansion {
  int64_t out_copies = 1, in_copies = 1;
  float scale = 1;
  bool noisy = false;
};

Expansion expansion_of(ParamRole role, int64_t k, int64_t f) {
  const float ik = 1.0f / static_cast<float>(k);
  switch (role) {
    case ParamRole::Embed: return {1, k, ik, false};  // the residual stream: copies / k
    case ParamRole::AttnNorm:
    case ParamRole::MlpNorm:
    case ParamRole::FinalNorm:
    case ParamRole::QBias:
    case ParamRole::KBias:
    case ParamRole::VBias: return {k, 1, 1.0f, false};
    case ParamRole::Q:
    case ParamRole::K:
    case ParamRole::V: return {k, k, ik, true};
    case ParamRole::O: return {k, k, ik * ik, true};  // reads k copies, writes the residual (/ k)
    case ParamRole::OBias: return {k, 1, ik, false};
    case ParamRole::Gate:
    case ParamRole::Up: return {f, k, ik, true};
    case ParamRole::Down: return {k, f, ik / static_cast<float>(f), true};
    case ParamRole::LmHead: return {1, k, ik, true};
    case ParamRole::Score: break;
  }
  fail("grow: a reward model's score head cannot grow");
}

void expand_param(const std::vector<float>& src, int64_t out, int64_t in, const Expansion& e, double noise,
                  std::mt19937_64& rng, std::vector<float>& dst) {
  const int64_t big_in = in * e.in_copies;
  dst.assign(static_cast<size_t>(out * e.out_copies * big_in), 0.0f);
  double sq = 0;
  for (float x : src) sq += static_cast<double>(x) * x;
  const double sigma = e.noisy && e.in_copies > 1 && !src.empty()
                           ? noise * e.scale * std::sqrt(sq / static_cast<double>(src.size()))
                           : 0.0;
  std::normal_distribution<double> normal(0.0, sigma > 0 ? sigma : 1.0);
  std::vector<double> z(static_cast<size_t>(e.in_copies));
  for (int64_t a = 0; a < e.out_copies; ++a)
    for (int64_t i = 0; i < out; ++i) {
      float* row = dst.data() + (a * out + i) * big_in;
      for (int64_t j = 0; j < in; ++j) {
        const float w = e.scale * src[static_cast<size_t>(i * in + j)];
        double mean = 0;
        if (sigma > 0) {
          for (double& v : z) mean += (v = normal(rng));
          mean /= static_cast<double>(z.size());
        }
        for (int64_t b = 0; b < e.in_copies; ++b)
          row[b * in + j] = sigma > 0 ? static_cast<float>(w + (z[static_cast<size_t>(b)] - mean)) : w;
      }
    }
}

bool writes_residual(ParamRole r) { return r == ParamRole::O || r == ParamRole::OBias || r == ParamRole::Down; }

}  // namespace

DepthGrowth parse_depth_growth(const std::string& s) {
  if (s == "stack") return DepthGrowth::Stack;
  if (s == "identity") return DepthGrowth::Identity;
  fail("--depth {}: expected stack or identity", s);
}

GrowthPlan plan_growth(const ModelConfig& small, const ModelConfig& big, DepthGrowth depth) {
  require_same_family(small, big, "the small model's", "the big config's");
  GrowthPlan p;
  p.width = whole_factor(small.hidden_size, big.hidden_size, "hidden_size");
  p.ffn = whole_factor(small.intermediate_size, big.intermediate_size, "intermediate_size");
  if (big.num_attention_heads != p.width * small.num_attention_heads)
    fail("the big config's num_attention_heads {} must be {} x the small model's {} (hidden_size grows {}x with "
         "head_dim kept)", big.num_attention_heads, p.width, small.num_attention_heads, p.width);
  if (big.num_key_value_heads != p.width * small.num_key_value_heads)
    fail("the big config's num_key_value_heads {} must be {} x the small model's {} (each head's copies keep "
         "their key/value head's copies)", big.num_key_value_heads, p.width, small.num_key_value_heads);
  const int64_t L = small.num_hidden_layers, L2 = big.num_hidden_layers;
  if (L2 < L) fail("the big config's num_hidden_layers {} is fewer than the small model's {}", L2, L);
  if (depth == DepthGrowth::Stack) {
    for (int64_t i = 0; i < L2; ++i) p.source.push_back(i % L), p.zero_output.push_back(false);
  } else {
    const int64_t extra = L2 - L;
    for (int64_t l = 0; l < L; ++l) {
      const int64_t copies = extra * (l + 1) / L - extra * l / L;  // the new layers spread evenly
      p.source.push_back(l), p.zero_output.push_back(false);
      for (int64_t c = 0; c < copies; ++c) p.source.push_back(l), p.zero_output.push_back(true);
    }
  }
  return p;
}

ParamMap grow_model(const ModelConfig& small, const ParamMap& params, const ModelConfig& big, const GrowthPlan& plan,
                    double noise, uint64_t seed) {
  if (noise < 0 || !std::isfinite(noise)) fail("--noise {}: must be >= 0", noise);
  const std::vector<ParamSpec> small_layout = param_layout(small);
  ParamMap out;
  std::mt19937_64 rng(seed);
  for (const ParamSpec& s : param_layout(big)) {
    const int64_t src_layer = s.layer < 0 ? -1 : plan.source.at(static_cast<size_t>(s.layer));
    const ParamSpec& from = layout_spec(small_layout, s.role, src_layer);
    auto& dst = out[s.name];
    const int64_t rows = from.shape[0], cols = from.shape.size() > 1 ? from.shape[1] : 1;
    expand_param(param_values(params, from), rows, cols, expansion_of(s.role, plan.width, plan.ffn), noise, rng, dst);
    if (s.layer >= 0 && plan.zero_output[static_cast<size_t>(s.layer)] && writes_residual(s.role))
      std::fill(dst.begin(), dst.end(), 0.0f);
    if (static_cast<int64_t>(dst.size()) != s.numel())
      fail("grow: {} came out with {} values, expected {}", s.name, dst.size(), s.numel());
  }
  return out;
}

}  // namespace baimo
