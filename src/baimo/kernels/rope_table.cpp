#include "baimo/kernels/rope_table.h"

#include <cmath>

namespace baimo {

RopeTable::RopeTable(float theta_, int64_t D, int64_t positions) : theta(theta_), head_dim(D) { extend(positions); }

void RopeTable::extend(int64_t want) {
  const int64_t have = positions(), D = head_dim, half = D / 2;
  if (want <= have) return;
  cos_sin.resize(static_cast<size_t>(want * D));
  for (int64_t p = have; p < want; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const float inv_freq = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(D));
      const float angle = static_cast<float>(p) * inv_freq;
      cos_sin[p * D + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      cos_sin[p * D + half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
}

}  // namespace baimo
