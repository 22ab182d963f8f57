#include "baimo/util/hash.h"
#include "baimo/model/init.h"

#include <cassert>
#include <cmath>

namespace baimo {

namespace {

// Uniform in (0, 1], never 0 (so log is finite).
double unit(uint64_t bits) { return (static_cast<double>(bits >> 11) + 1.0) * 0x1.0p-53; }

}  // namespace

void init_param(const ParamSpec& spec, double initializer_range, uint64_t seed, std::span<float> out) {
  assert(static_cast<int64_t>(out.size()) == spec.numel());
  const int64_t n = static_cast<int64_t>(out.size());
  if (spec.kind == ParamKind::Norm || spec.kind == ParamKind::Bias) {
    float v = spec.kind == ParamKind::Norm ? 1.0f : 0.0f;
    for (int64_t i = 0; i < n; ++i) out[i] = v;
    return;
  }
  const uint64_t key = splitmix64(seed ^ fnv1a(spec.name));
  // Box-Muller: element pair (2k, 2k+1) from counter k.
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t k = 0; k < (n + 1) / 2; ++k) {
    uint64_t a = splitmix64(key + 2 * static_cast<uint64_t>(k));
    uint64_t b = splitmix64(a ^ 0x5851f42d4c957f2dull);
    double r = std::sqrt(-2.0 * std::log(unit(a))) * initializer_range;
    double t = 2.0 * M_PI * unit(b);
    out[2 * k] = static_cast<float>(r * std::cos(t));
    if (2 * k + 1 < n) out[2 * k + 1] = static_cast<float>(r * std::sin(t));
  }
}

}  // namespace baimo
