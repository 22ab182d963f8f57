#include "baimo/quant/act_quant.h"

#include <cmath>

namespace baimo::quant {

static void quantize_act_row(const float* x, int64_t blocks, int64_t padded, int8_t* qs, float* d, int32_t* sum) {
  for (int64_t b = 0; b < blocks; ++b, x += 32, qs += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float scale = amax / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) {
      const int q = static_cast<int>(std::roundf(x[j] * inv));  // |q| <= 127
      qs[j] = static_cast<int8_t>(q);
      s += q;
    }
    d[b] = scale;
    sum[b] = s;
  }
  for (int64_t b = blocks; b < padded; ++b, qs += 32) {
    for (int j = 0; j < 32; ++j) qs[j] = 0;
    d[b] = 0.0f;
    sum[b] = 0;
  }
}

void ActQ8::quantize(const float* x, int64_t nrows, int64_t ncols) {
  rows = nrows;
  cols = ncols;
  blocks = ncols / 32;
  padded_blocks = (blocks + 1) / 2 * 2;
  qs.resize(static_cast<size_t>(rows * padded_blocks * 32));
  d.resize(static_cast<size_t>(rows * padded_blocks));
  sum.resize(static_cast<size_t>(rows * padded_blocks));
#pragma omp parallel for schedule(static) if (rows >= 4)
  for (int64_t r = 0; r < rows; ++r)
    quantize_act_row(x + r * cols, blocks, padded_blocks, qs.data() + r * padded_blocks * 32,
                     d.data() + r * padded_blocks, sum.data() + r * padded_blocks);
}

}  // namespace baimo::quant
