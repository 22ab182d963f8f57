#include "baimo/infer/prompt_logprobs.h"

#include <gtest/gtest.h>

#include <cmath>

#include "baimo/util/error.h"

namespace baimo {
namespace prompt_logprobs_test {

TEST(PromptLogprobs, LogSoftmaxAndTop) {
  const std::vector<float> row = {1.0f, 3.0f, 2.0f, 3.0f};
  double z = 0;
  for (float v : row) z += std::exp(static_cast<double>(v));
  PromptLogprob p = token_logprob(row, 2, 2);
  EXPECT_NEAR(p.logprob, 2.0 - std::log(z), 1e-12);
  ASSERT_EQ(p.top.size(), 2u);
  EXPECT_EQ(p.top[0].first, 1);  // ties: the lower id first
  EXPECT_EQ(p.top[1].first, 3);
  EXPECT_NEAR(p.top[0].second, 3.0 - std::log(z), 1e-5);
  EXPECT_TRUE(token_logprob(row, 0, 0).top.empty());
  EXPECT_THROW(token_logprob(row, 4, 0), Error);
  EXPECT_THROW(token_logprob(row, -1, 0), Error);
}

}  // namespace prompt_logprobs_test

}  // namespace baimo
