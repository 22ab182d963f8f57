#include "baimo/kernels/decode_ops.h"

#include "baimo/kernels/backend.h"

namespace baimo {

void rmsnorm_row(const float* x, const float* w, int64_t C, float eps, float* y) {
  float rstd;
  backend().rmsnorm_fwd(x, w, 1, C, eps, y, &rstd);  // opens no parallel region for one row
}

void rope_heads(float* x, const float* cs, int64_t heads, int64_t D) {
  const int64_t half = D / 2;
  for (int64_t h = 0; h < heads; ++h) {
    float* xr = x + h * D;
#pragma omp simd
    for (int64_t i = 0; i < half; ++i) {
      const float c = cs[i], s = cs[half + i];
      const float x1 = xr[i], x2 = xr[half + i];
      xr[i] = x1 * c - x2 * s;
      xr[half + i] = x2 * c + x1 * s;
    }
  }
}

void swiglu_range(const float* gate, const float* up, int64_t n, float* out) {
  // The backend's (vectorized for the best ISA; opens no parallel region for row-sized work).
  backend().swiglu_fwd(gate, up, n, out);
}

}  // namespace baimo
