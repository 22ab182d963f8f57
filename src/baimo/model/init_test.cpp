#include "baimo/model/init.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <vector>

using namespace baimo;

TEST(ModelInit, NormalWithRequestedStdAndDeterministic) {
  ParamSpec s{"model.layers.0.mlp.up_proj.weight", {300, 401}, ParamKind::Matrix};
  std::vector<float> a(s.numel()), b(s.numel()), c(s.numel());
  init_param(s, 0.02, 42, a);
  int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  init_param(s, 0.02, 42, b);
  omp_set_num_threads(threads);
  EXPECT_EQ(a, b);  // independent of the thread count
  init_param(s, 0.02, 43, c);
  EXPECT_NE(a, c);
  double sum = 0, sq = 0;
  for (float v : a) sum += v, sq += double(v) * v;
  double mean = sum / a.size(), sd = std::sqrt(sq / a.size() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 3e-4);
  EXPECT_NEAR(sd, 0.02, 3e-4);
  ParamSpec other = s;
  other.name = "model.layers.1.mlp.up_proj.weight";
  init_param(other, 0.02, 42, c);
  EXPECT_NE(a, c);  // each parameter its own stream
}

TEST(ModelInit, NormsOnesBiasesZeros) {
  std::vector<float> v(5, 7.0f);
  init_param({"model.norm.weight", {5}, ParamKind::Norm}, 0.02, 1, v);
  EXPECT_EQ(v, std::vector<float>(5, 1.0f));
  init_param({"x.bias", {5}, ParamKind::Bias}, 0.02, 1, v);
  EXPECT_EQ(v, std::vector<float>(5, 0.0f));
}
