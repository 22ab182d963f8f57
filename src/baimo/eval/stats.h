// Statistics of evaluation scores.
// - MeanStderr: mean of per-example scores and the standard error of the mean,
//   stderr = sqrt(sample variance / n) with the n-1 (Bessel) sample variance, as lm-evaluation-harness
//   reports it; 0 for n < 2.
// - pass_at_k(n, c, k): the unbiased estimator of Chen et al. (2021) for n samples of which c are
//   correct: 1 - C(n-c, k) / C(n, k), computed as 1 - prod_{i=n-c+1..n} (1 - k/i) (no overflow);
//   1 when n - c < k. Requires 0 <= c <= n, 1 <= k <= n; baimo::Error otherwise.
#pragma once
#include <cstdint>
#include <span>

namespace baimo::eval {

struct MeanStderr {
  double mean = 0, stderr_ = 0;
  int64_t n = 0;
};
MeanStderr mean_stderr(std::span<const double> scores);

double pass_at_k(int64_t n, int64_t c, int64_t k);

}  // namespace baimo::eval
