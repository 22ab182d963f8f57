#include "baimo/eval/stats.h"

#include <cmath>

#include "baimo/util/error.h"

namespace baimo::eval {

MeanStderr mean_stderr(std::span<const double> scores) {
  MeanStderr r;
  r.n = static_cast<int64_t>(scores.size());
  if (r.n == 0) return r;
  double s = 0;
  for (double x : scores) s += x;
  r.mean = s / static_cast<double>(r.n);
  if (r.n < 2) return r;
  double v = 0;
  for (double x : scores) v += (x - r.mean) * (x - r.mean);
  v /= static_cast<double>(r.n - 1);
  r.stderr_ = std::sqrt(v / static_cast<double>(r.n));
  return r;
}

double pass_at_k(int64_t n, int64_t c, int64_t k) {
  if (n < 1 || c < 0 || c > n || k < 1 || k > n)
    fail("pass@k needs 0 <= correct <= samples and 1 <= k <= samples (samples {}, correct {}, k {})", n, c, k);
  if (n - c < k) return 1.0;
  double prod = 1.0;
  for (int64_t i = n - c + 1; i <= n; ++i) prod *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  return 1.0 - prod;
}

}  // namespace baimo::eval
