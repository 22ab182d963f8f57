#include "baimo/eval/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "baimo/util/error.h"

namespace stats_test {
using namespace baimo;
using namespace baimo::eval;

// C(n, k) in doubles (small n only).
double choose(int64_t n, int64_t k) {
  if (k < 0 || k > n) return 0;
  double r = 1;
  for (int64_t i = 1; i <= k; ++i) r = r * static_cast<double>(n - k + i) / static_cast<double>(i);
  return r;
}

TEST(Stats, PassAtKMatchesClosedForm) {
  for (int64_t n = 1; n <= 20; ++n)
    for (int64_t c = 0; c <= n; ++c)
      for (int64_t k = 1; k <= n; ++k) {
        const double want = 1.0 - choose(n - c, k) / choose(n, k);
        EXPECT_NEAR(pass_at_k(n, c, k), want, 1e-12) << n << " " << c << " " << k;
      }
  EXPECT_DOUBLE_EQ(pass_at_k(10, 3, 1), 0.3);  // pass@1 is the share correct
  EXPECT_DOUBLE_EQ(pass_at_k(5, 0, 3), 0.0);
  EXPECT_DOUBLE_EQ(pass_at_k(5, 3, 3), 1.0);   // n - c < k
  // Large n stays finite (C(200, 100) overflows no double here: product form).
  EXPECT_NEAR(pass_at_k(200, 1, 100), 0.5, 1e-12);
  EXPECT_THROW(pass_at_k(5, 6, 1), Error);
  EXPECT_THROW(pass_at_k(5, 1, 6), Error);
  EXPECT_THROW(pass_at_k(5, 1, 0), Error);
}

TEST(Stats, MeanStderr) {
  std::vector<double> v{1, 0, 1, 1};
  MeanStderr r = mean_stderr(v);
  EXPECT_EQ(r.n, 4);
  EXPECT_DOUBLE_EQ(r.mean, 0.75);
  // sample variance (n-1): ((.25^2)*3 + .75^2) / 3 = 0.25; stderr = sqrt(0.25 / 4)
  EXPECT_NEAR(r.stderr_, 0.25, 1e-12);
  EXPECT_EQ(mean_stderr(std::vector<double>{}).n, 0);
  EXPECT_DOUBLE_EQ(mean_stderr(std::vector<double>{3}).stderr_, 0.0);
}

}  // namespace stats_test
