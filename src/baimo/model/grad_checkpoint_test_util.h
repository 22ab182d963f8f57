// Test helper for activation checkpointing (Transformer::set_grad_checkpoint): one training step's
// loss, every gradient and the arena's high-water mark, with checkpointing on or off, and the check
// that two such steps agree (loss and every gradient within 1e-6 relative).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "baimo/autograd/tape.h"
#include "baimo/model/lora.h"
#include "baimo/model/transformer.h"

namespace baimo::testing {

struct StepResult {
  float loss = 0;
  std::vector<std::pair<std::string, std::vector<float>>> grads;  // every Var that got a gradient
  size_t arena_high_water = 0;                                     // bytes of this step's activations
};

// ids, targets: I32 (B, T); positions, segments: optional (packed rows). Runs on a fresh thread, so
// on a fresh tape whose arena has seen only this step.
inline StepResult grad_checkpoint_step(Transformer& m, const LoraAdapter* adapter, bool checkpoint, const Tensor& ids,
                                       const Tensor& targets, const Tensor* positions = nullptr,
                                       const Tensor* segments = nullptr) {
  StepResult r;
  std::vector<std::pair<std::string, ag::Var>> vars;
  for (const auto& p : m.params()) vars.emplace_back(p.spec.name, p.var);
  if (adapter)
    for (const auto& p : adapter->pairs) {
      vars.emplace_back(p.spec.a_name, p.a);
      vars.emplace_back(p.spec.b_name, p.b);
    }
  for (auto& v : vars) v.second.node()->grad_valid = false;
  m.set_grad_checkpoint(checkpoint);
  std::thread worker([&] {
    ag::Var loss = m.loss(ids, targets, positions, segments);
    ag::backward(loss);
    r.loss = loss.item();
    r.arena_high_water = ag::tape().arena().high_water();
    ag::reset_step();
  });
  worker.join();
  m.set_grad_checkpoint(false);
  for (auto& [name, v] : vars)
    if (v.has_grad()) {
      const Tensor g = v.grad();
      r.grads.emplace_back(name, std::vector<float>(g.data<float>(), g.data<float>() + g.numel()));
    }
  return r;
}

inline void expect_same_step(const StepResult& ck, const StepResult& plain, float rel = 1e-6f) {
  EXPECT_LE(std::fabs(ck.loss - plain.loss), rel * std::fabs(plain.loss)) << ck.loss << " vs " << plain.loss;
  ASSERT_EQ(ck.grads.size(), plain.grads.size());
  ASSERT_FALSE(plain.grads.empty());
  double total = 0;
  for (size_t i = 0; i < plain.grads.size(); ++i) {
    const auto& [name, want] = plain.grads[i];
    ASSERT_EQ(ck.grads[i].first, name);
    const std::vector<float>& got = ck.grads[i].second;
    ASSERT_EQ(got.size(), want.size()) << name;
    float diff = 0, scale = 0;
    for (size_t j = 0; j < want.size(); ++j) {
      diff = std::max(diff, std::fabs(got[j] - want[j]));
      scale = std::max(scale, std::fabs(want[j]));
      total += double(want[j]) * want[j];
    }
    EXPECT_LE(diff, rel * scale) << name << ": max |difference| " << diff << ", max |gradient| " << scale;
  }
  EXPECT_GT(total, 0);  // gradients flowed
}

}  // namespace baimo::testing
