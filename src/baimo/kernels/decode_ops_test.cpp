#include "baimo/kernels/decode_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "baimo/kernels/backend.h"

namespace decode_ops_test {
using namespace baimo;

std::vector<float> normal(size_t n, uint32_t seed, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, float rel, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], rel * (std::fabs(want[i]) + 1e-3f)) << what << " element " << i;
}

// The team path's serial ops equal the backend's (the prefill path) up to f32 rounding.
TEST(DecodeOps, MatchTheBackend) {
  Backend& be = backend();
  for (int64_t C : {7, 64, 896}) {
    auto x = normal(C, 1), w = normal(C, 2);
    std::vector<float> got(C), want(C), rstd(1);
    rmsnorm_row(x.data(), w.data(), C, 1e-6f, got.data());
    be.rmsnorm_fwd(x.data(), w.data(), 1, C, 1e-6f, want.data(), rstd.data());
    expect_close(got, want, 1e-6f, "rmsnorm");

    auto g = normal(C, 3, 4.0f), u = normal(C, 4);
    std::vector<float> out(C), ref(C);
    swiglu_range(g.data(), u.data(), C, out.data());
    be.swiglu_fwd(g.data(), u.data(), C, ref.data());
    expect_close(out, ref, 1e-6f, "swiglu");
  }
  for (int64_t D : {8, 64}) {
    const int64_t H = 3, positions = 300;
    const float theta = D == 8 ? 10000.0f : 1000000.0f;
    RopeTable table(theta, D, positions);
    for (int32_t p : {0, 1, 17, 299}) {
      auto x = normal(H * D, 5 + p);
      std::vector<float> got = x, want(H * D);
      rope_heads(got.data(), table.row(p), H, D);
      be.rope(x.data(), &p, 1, 1, H, D, theta, false, want.data(), false);
      expect_close(got, want, 1e-6f, "rope");
    }
  }
}

}  // namespace decode_ops_test
