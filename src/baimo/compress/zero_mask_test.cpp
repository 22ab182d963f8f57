#include "baimo/compress/zero_mask.h"

#include <gtest/gtest.h>

#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/model/lm_loss.h"
#include "baimo/model/tiny_config_test_util.h"
#include "baimo/train/optimizer.h"
#include "baimo/train/param_groups.h"

namespace baimo {
namespace zero_mask_test {
using ag::testing::random_ids;

float* values_of(const Transformer& m, const std::string& name) { return m.param(name).node()->value.data<float>(); }

TEST(ZeroMask, PrunedWeightsStayZeroThroughAdamWSteps) {
  Transformer m = Transformer::random(testing::tiny_qwen2(2), 1);
  const std::string q = layer_param(0, "self_attn.q_proj.weight"), down = layer_param(1, "mlp.down_proj.weight");
  const int64_t nq = m.param(q).numel(), nd = m.param(down).numel();
  for (int64_t i = 0; i < nq; i += 2) values_of(m, q)[i] = 0.0f;   // 50%
  for (int64_t i = 0; i < nd; i += 4) values_of(m, down)[i] = 0.0f;  // 25%
  values_of(m, layer_param(1, "self_attn.k_proj.weight"))[3] = 0.0f;   // one zero: below min_fraction
  for (int64_t i = 0; i < m.param(layer_param(1, "self_attn.o_proj.weight")).numel(); ++i)
    values_of(m, layer_param(1, "self_attn.o_proj.weight"))[i] = 0.0f;  // all zero: an identity layer's, trains
  const ZeroMask mask = ZeroMask::of(m);
  EXPECT_EQ(mask.matrices(), 2u);
  EXPECT_EQ(mask.zeros(), nq / 2 + nd / 4);
  EXPECT_EQ(mask.numel(), nq + nd);

  train::TrainerOptions opts;
  keep_pruned_zeros(m, opts, "test");
  ASSERT_TRUE(opts.edit_gradients);
  train::AdamW opt(train::adamw_groups(m), {0.9f, 0.95f, 1e-8f, 0.1f});
  const std::vector<float> before(values_of(m, q), values_of(m, q) + nq);
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    ag::backward(lm_loss(m, random_ids({2, 8}, 64, 10 + step), random_ids({2, 8}, 64, 20 + step)));
    opts.edit_gradients();
    const float* g = m.param(q).grad().data<float>();
    for (int64_t i = 0; i < nq; i += 2) ASSERT_EQ(g[i], 0.0f);
    opt.step(1e-2f);
    ag::reset_step();
  }
  int64_t moved = 0;
  for (int64_t i = 0; i < nq; ++i) {
    if (i % 2 == 0) ASSERT_EQ(values_of(m, q)[i], 0.0f) << i;
    else moved += values_of(m, q)[i] != before[static_cast<size_t>(i)];
  }
  EXPECT_EQ(moved, nq / 2);  // the live weights train
  for (int64_t i = 0; i < nd; i += 4) ASSERT_EQ(values_of(m, down)[i], 0.0f);
}

TEST(ZeroMask, ADenseModelGetsNoHook) {
  const Transformer m = Transformer::random(testing::tiny_llama(2), 2);
  EXPECT_TRUE(ZeroMask::of(m).empty());
  train::TrainerOptions opts;
  keep_pruned_zeros(m, opts, "test");
  EXPECT_FALSE(opts.edit_gradients);
}

}  // namespace zero_mask_test
}  // namespace baimo
