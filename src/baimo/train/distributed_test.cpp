// Runs as a normal 1-process test, and under `mpirun -np 2 baimo_tests --gtest_filter=Distributed.*`
// (tests/e2e/test_distributed_mpi.sh), where every rank checks the collective results.
#include "baimo/train/distributed.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace baimo;

TEST(Distributed, WorldMatchesTheLauncher) {
  Comm& c = Comm::world();
  const char* n = std::getenv("OMPI_COMM_WORLD_SIZE");
  EXPECT_EQ(c.size(), n ? std::atoi(n) : 1);
  const char* r = std::getenv("OMPI_COMM_WORLD_RANK");
  EXPECT_EQ(c.rank(), r ? std::atoi(r) : 0);
  EXPECT_EQ(c.is_root(), c.rank() == 0);
  EXPECT_EQ(&c, &Comm::world());
}

TEST(Distributed, AllreduceMeanSumBroadcastAcrossRanks) {
  Comm& c = Comm::world();
  const int n = c.size(), r = c.rank();
  std::vector<float> x(1000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.001f * static_cast<float>(i) * (r + 1) + 1.0f / (3 + r);
  c.allreduce_mean(x.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    double want = 0;
    for (int k = 0; k < n; ++k) want += 0.001 * i * (k + 1) + 1.0 / (3 + k);
    ASSERT_NEAR(x[i], want / n, 1e-5) << i;
  }
  // Every rank holds the same bits: broadcast root's copy and compare.
  std::vector<float> root = x;
  c.broadcast(root.data(), root.size() * sizeof(float), 0);
  EXPECT_EQ(std::memcmp(root.data(), x.data(), x.size() * sizeof(float)), 0);

  std::vector<double> s = {1.0 + r, 0.5 * r};
  c.allreduce_sum(s.data(), s.size());
  EXPECT_DOUBLE_EQ(s[0], n * (n + 1) / 2.0);
  EXPECT_DOUBLE_EQ(s[1], 0.5 * n * (n - 1) / 2.0);

  uint64_t token = r == n - 1 ? 0xfeedULL : 0;
  c.broadcast(&token, sizeof token, n - 1);
  EXPECT_EQ(token, 0xfeedULL);
  c.barrier();
  c.allreduce_mean(nullptr, 0);  // nothing to do, on every rank
}
