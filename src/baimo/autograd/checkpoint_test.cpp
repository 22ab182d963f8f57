// ag::checkpoint: a checkpointed block (rmsnorm, q/k/v products, rope, attention over packed
// segments, swiglu MLP, residuals) gives the value and every gradient of the plain block (input,
// parameters; an input also used outside the block; two chained blocks; an input whose gradient
// must outlive a later recomputation), passes a finite-difference
// gradcheck, keeps only its output in the arena after forward, recomputes a dropout mask exactly,
// and is just the function under NoGradGuard.
#include "baimo/autograd/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"

namespace autograd_checkpoint_test {
using namespace baimo;
using namespace baimo::ag;
using namespace baimo::ag::testing;

constexpr int64_t B = 2, T = 5, H = 2, KV = 1, D = 4, C = H * D, F = 12;

// A decoder block over leaves: ln (C), wq (C, C), bq (C), wk, wv (KV*D, C), wo (C, C),
// wg, wu (F, C), wd (C, F). x: (B, T, C) -> (B, T, C).
struct Block {
  std::vector<Var> p;
  Tensor positions, segments;
  explicit Block(uint32_t seed) {
    p = {random_leaf({C}, seed, 0.5f, 1.5f), random_leaf({C, C}, seed + 1, -0.4f, 0.4f),
         random_leaf({C}, seed + 2, -0.1f, 0.1f), random_leaf({KV * D, C}, seed + 3, -0.4f, 0.4f),
         random_leaf({KV * D, C}, seed + 4, -0.4f, 0.4f), random_leaf({C, C}, seed + 5, -0.4f, 0.4f),
         random_leaf({F, C}, seed + 6, -0.4f, 0.4f), random_leaf({F, C}, seed + 7, -0.4f, 0.4f),
         random_leaf({C, F}, seed + 8, -0.4f, 0.4f)};
    // Row 0: two documents (positions restart at 3); row 1: one.
    positions = Tensor::from_ids({B, T}, std::vector<int32_t>{0, 1, 2, 0, 1, 0, 1, 2, 3, 4});
    segments = Tensor::from_ids({B, T}, std::vector<int32_t>{0, 0, 0, 1, 1, 0, 0, 0, 0, 0});
  }
  Var operator()(const Var& x) const {
    Var n = rmsnorm(x, p[0], 1e-5f);
    Var q = rope(linear(n, p[1], p[2]), positions, H, 10000.f);
    Var k = rope(linear(n, p[3]), positions, KV, 10000.f);
    Var v = linear(n, p[4]);
    Var h = add(x, linear(attention(q, k, v, H, KV, &segments), p[5]));
    return add(h, linear(swiglu(linear(h, p[6]), linear(h, p[7])), p[8]));
  }
  Var checkpointed(const Var& x) const {
    Block self = *this;
    return checkpoint([self](const std::vector<Var>& in) { return self(in[0]); }, {x}, p);
  }
};

std::vector<float> copy_of(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.numel()}; }

// Loss and every gradient (x first, then the parameters) of probe(block2(block1(x)) + x).
struct StepRun {
  float loss;
  std::vector<std::vector<float>> grads;
};
StepRun run(bool ckpt) {
  Block b1(10), b2(30);
  Var x = random_leaf({B, T, C}, 7);
  Var x2 = linear(x, b1.p[1]);  // a non-leaf block input that is also used after the blocks
  Var y1 = ckpt ? b1.checkpointed(x2) : b1(x2);
  Var y2 = ckpt ? b2.checkpointed(y1) : b2(y1);
  Var loss = add(probe(y2, 99), probe(x2, 98));
  backward(loss);
  StepRun r{loss.item(), {copy_of(x.grad())}};
  for (const Block* b : {&b1, &b2})
    for (const Var& p : b->p) r.grads.push_back(copy_of(p.grad()));
  reset_step();
  return r;
}

TEST(Checkpoint, SameLossAndGradientsAsThePlainBlocks) {
  const StepRun plain = run(false), ck = run(true);
  EXPECT_EQ(ck.loss, plain.loss);
  ASSERT_EQ(ck.grads.size(), plain.grads.size());
  for (size_t i = 0; i < plain.grads.size(); ++i) EXPECT_EQ(ck.grads[i], plain.grads[i]) << "gradient " << i;
}

TEST(Checkpoint, InputGradientsSurviveAnotherBlocksRecomputation) {
  // The recomputation of z (recorded before y, so run after it in backward) fills the arena memory
  // that y's recomputation used: x1's gradient must not live there.
  auto grads = [](bool ck) {
    Block b(20);
    Var leaf1 = random_leaf({B, T, C}, 11), leaf2 = random_leaf({B, T, C}, 12);
    Var x1 = scale(leaf1, 1.f), x2 = scale(leaf2, 1.f);
    auto big = [b](const Var& in) {  // 120 arena tensors of (B, T, C)
      Var s = in;
      for (int i = 0; i < 60; ++i) s = add(s, linear(in, b.p[5]));
      return s;
    };
    Var z = ck ? checkpoint([big](const std::vector<Var>& v) { return big(v[0]); }, {x2}, b.p) : big(x2);
    Var y = ck ? b.checkpointed(x1) : b(x1);
    backward(add(probe(y, 3), probe(z, 4)));
    std::vector<std::vector<float>> g{copy_of(leaf1.grad()), copy_of(leaf2.grad())};
    reset_step();
    return g;
  };
  EXPECT_EQ(grads(true), grads(false));
}

TEST(Checkpoint, GradcheckThroughACheckpointedBlock) {
  Block b(50);
  std::vector<Var> in = {random_leaf({B, T, C}, 3)};
  for (const Var& p : b.p) in.push_back(p);
  GradCheckOptions o;
  o.eps = 1e-2f;
  o.max_checks = 8;
  auto r = gradcheck([&](const std::vector<Var>& v) { return probe(b.checkpointed(v[0]), 5); }, in, o);
  EXPECT_TRUE(r.ok) << r.first_failure;
  EXPECT_EQ(r.checked, 8 * static_cast<int>(in.size()));
}

TEST(Checkpoint, ForwardKeepsOnlyTheOutputInTheArena) {
  Block b(70);
  Var x = random_leaf({B, T, C}, 4);
  reset_step();
  const size_t before = tape().arena().used();
  Var y = b.checkpointed(x);
  const size_t y_bytes = (static_cast<size_t>(y.numel()) * sizeof(float) + 63) / 64 * 64;
  EXPECT_EQ(tape().arena().used() - before, y_bytes);
  EXPECT_EQ(tape().size(), 1u);  // one closure for the whole block
  const std::vector<float> value = copy_of(y.value());
  Var plain = b(x);
  EXPECT_EQ(value, copy_of(plain.value()));
  EXPECT_GT(tape().size(), 10u);
  reset_step();
}

TEST(Checkpoint, DropoutMaskIsRecomputedExactly) {
  // lora_linear's mask is a function of its seed: the recomputation must use the same one.
  Var x = random_leaf({B, T, C}, 1);
  Var w = random_leaf({C, C}, 2), a = random_leaf({2, C}, 3), bb = random_leaf({C, 2}, 4);
  auto f = [&](const Var& in) { return lora_linear(in, w, Var(), a, bb, 0.5f, 0.4f, 1234); };
  auto grads = [&](bool ck) {
    Var y = ck ? checkpoint([&](const std::vector<Var>& v) { return f(v[0]); }, {x}, std::vector<Var>{w, a, bb})
               : f(x);
    backward(probe(y, 8));
    std::vector<std::vector<float>> g;
    for (const Var& v : {x, w, a, bb}) g.push_back(copy_of(v.grad()));
    std::vector<Var> all{x, w, a, bb};
    zero_grad(all);
    reset_step();
    return g;
  };
  EXPECT_EQ(grads(true), grads(false));
}

TEST(Checkpoint, UnderNoGradItIsTheFunction) {
  Block b(90);
  Var x = random_leaf({B, T, C}, 4);
  NoGradGuard g;
  Var y = b.checkpointed(x);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(tape().size(), 0u);
  EXPECT_EQ(copy_of(y.value()), copy_of(b(x).value()));
  reset_step();
}

}  // namespace autograd_checkpoint_test
