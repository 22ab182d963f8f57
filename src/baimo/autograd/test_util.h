// Helpers for the autograd/kernel unit tests: seeded random tensors and leaves, a scalar
// "probe" loss sum(y * R) with a fixed random R so that every output element matters, and the
// largest absolute (difference of) f32 elements.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "baimo/autograd/ops.h"
#include "baimo/tensor/tensor.h"

namespace baimo::ag::testing {

inline Tensor random_tensor(const Shape& s, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(s.numel()));
  for (auto& x : v) x = dist(rng);
  return Tensor::from_data(s, v);
}

inline Tensor random_ids(const Shape& s, int32_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, vocab - 1);
  std::vector<int32_t> v(static_cast<size_t>(s.numel()));
  for (auto& x : v) x = dist(rng);
  return Tensor::from_ids(s, v);
}

inline Var random_leaf(const Shape& s, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  return Var::leaf(random_tensor(s, seed, lo, hi), true);
}

// sum(y * R): a scalar whose gradient w.r.t. y is the random R.
inline Var probe(const Var& y, uint32_t seed) {
  Var r = Var::constant(random_tensor(y.shape(), seed));
  return sum(mul(y, r));
}

// max |a_i - b_i| over two f32 tensors of as many elements (a test failure when the counts differ).
inline float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.numel(), b.numel());
  float m = 0.f;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

// max |a_i| over an f32 tensor.
inline float max_abs(const Tensor& a) {
  float m = 0.f;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(a.data<float>()[i]));
  return m;
}

}  // namespace baimo::ag::testing
