// Compositions: a two-layer toy transformer (every transformer op, residuals reusing Vars) and a
// PPO/DPO-style objective (token log-probs used twice, exp/clamp/minimum/log_sigmoid), checked by
// finite differences; gradient accumulation across backward() calls; arena reuse across steps.
#include <gtest/gtest.h>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"

namespace composition_test {
using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

constexpr int64_t kB = 2, kT = 6, kC = 8, kH = 2, kKV = 1, kD = 4, kF = 12, kV = 10;

struct Toy {
  std::vector<Var> p;
  Toy() {
    uint32_t s = 100;
    auto add = [&](Shape sh, float lo = -0.5f, float hi = 0.5f) { p.push_back(random_leaf(sh, s++, lo, hi)); };
    add({kV, kC});  // 0 embedding
    for (int l = 0; l < 2; ++l) {
      add({kC}, 0.8f, 1.2f);                                      // norm1
      add({kH * kD, kC}), add({kKV * kD, kC}), add({kKV * kD, kC});  // q k v
      add({kKV * kD});                                            // k bias
      add({kC, kH * kD});                                         // o
      add({kC}, 0.8f, 1.2f);                                      // norm2
      add({kF, kC}), add({kF, kC}), add({kC, kF});                // gate up down
    }
    add({kC}, 0.8f, 1.2f);  // final norm
  }
};

Var toy_logits(const std::vector<Var>& p, const Tensor& ids, const Tensor& pos) {
  Var x = embedding(p[0], ids);
  size_t i = 1;
  for (int l = 0; l < 2; ++l) {
    Var h = rmsnorm(x, p[i], 1e-5f);
    Var q = rope(linear(h, p[i + 1]), pos, kH, 10000.f);
    Var k = rope(linear(h, p[i + 2], p[i + 4]), pos, kKV, 10000.f);
    Var v = linear(h, p[i + 3]);
    x = add(x, linear(attention(q, k, v, kH, kKV), p[i + 5]));
    Var h2 = rmsnorm(x, p[i + 6], 1e-5f);
    x = add(x, linear(swiglu(linear(h2, p[i + 7]), linear(h2, p[i + 8])), p[i + 9]));
    i += 10;
  }
  return linear(rmsnorm(x, p[i], 1e-5f), p[0]);  // tied head: embedding used twice
}

TEST(Composition, ToyTransformerGradients) {
  Toy toy;
  Tensor ids = random_ids({kB, kT}, kV, 1);
  Tensor pos = Tensor::from_ids({kT}, std::vector<int32_t>{0, 1, 2, 3, 4, 5});
  Tensor tgt = random_ids({kB, kT}, kV, 2);
  tgt.data<int32_t>()[3] = -100;
  GradCheckOptions o;
  o.eps = 1e-2f;
  o.rtol = 2e-2f;
  o.atol = 1e-3f;
  o.max_checks = 12;
  auto r = gradcheck([&](const std::vector<Var>& p) { return cross_entropy(toy_logits(p, ids, pos), tgt); }, toy.p, o);
  EXPECT_TRUE(r.ok) << r.first_failure;
  EXPECT_GT(r.checked, 200);
}

TEST(Composition, PolicyObjectiveGradients) {
  Var logits = random_leaf({6, 5}, 3, -2, 2);
  Tensor tgt = Tensor::from_ids({6}, std::vector<int32_t>{1, 4, 0, 2, 2, 3});
  Tensor old_lp = random_tensor({6}, 4, -2.5f, -1.f);
  Tensor adv = random_tensor({6}, 5);
  Tensor mask = Tensor::from_data({6}, std::vector<float>{0, 1, 1, 1, 1, 0});
  auto loss = [&](const std::vector<Var>& in) {
    Var lp = token_logprobs(in[0], tgt);
    Var ratio = exp(sub(lp, Var::constant(old_lp)));
    Var a = Var::constant(adv);
    Var clipped = minimum(mul(ratio, a), mul(clamp(ratio, 0.8f, 1.2f), a));
    Var kl = sub(lp, Var::constant(old_lp));  // lp reused
    Var pg = neg(masked_mean(clipped, mask));
    Var dpo = neg(mean(log_sigmoid(scale(kl, 0.1f))));
    return add(add(pg, scale(masked_mean(mul(kl, kl), mask), 0.05f)), dpo);
  };
  GradCheckOptions o;
  o.eps = 1e-3f;
  auto r = gradcheck(loss, {logits}, o);
  EXPECT_TRUE(r.ok) << r.first_failure;
}

TEST(Composition, GradientsAccumulateAcrossBackwardUntilZeroGrad) {
  Var x = random_leaf({4}, 6);
  std::vector<Var> ps{x};
  zero_grad(ps);
  backward(sum(mul(x, x)));
  reset_step();
  backward(sum(mul(x, x)));
  reset_step();
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(x.grad().data<float>()[i], 4 * x.value().data<float>()[i]);
  zero_grad(ps);
  EXPECT_FALSE(x.has_grad());
  EXPECT_EQ(x.grad().data<float>()[0], 0.f);
}

TEST(Composition, ArenaStopsGrowingAfterFirstStep) {
  Toy toy;
  Tensor ids = random_ids({kB, kT}, kV, 1);
  Tensor pos = Tensor::from_ids({kT}, std::vector<int32_t>{0, 1, 2, 3, 4, 5});
  Tensor tgt = random_ids({kB, kT}, kV, 2);
  size_t cap = 0;
  for (int step = 0; step < 3; ++step) {
    backward(cross_entropy(toy_logits(toy.p, ids, pos), tgt));
    reset_step();
    if (step == 1) cap = tape().arena().capacity();
    if (step == 2) {
      EXPECT_EQ(tape().arena().capacity(), cap);
    }
  }
}

}  // namespace composition_test
