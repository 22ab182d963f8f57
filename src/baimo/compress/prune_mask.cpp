#include "baimo/compress/prune_mask.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "baimo/util/error.h"

namespace baimo {

std::string PruneSpec::describe() const {
  if (n_m()) return std::to_string(n) + ":" + std::to_string(m);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", sparsity * 100);
  return buf;
}

PruneSpec parse_prune_pattern(const std::string& text) {
  const size_t colon = text.find(':');
  auto number = [&](const std::string& s) {
    if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      fail("--pattern {}: expected N:M with whole numbers 0 < N < M (e.g. 2:4)", text);
    return std::stoi(s);
  };
  if (colon == std::string::npos) fail("--pattern {}: expected N:M (e.g. 2:4)", text);
  PruneSpec s;
  s.n = number(text.substr(0, colon));
  s.m = number(text.substr(colon + 1));
  if (s.n < 1 || s.n >= s.m) fail("--pattern {}: N:M needs 0 < N < M (keep N of every M weights)", text);
  return s;
}

PruneSpec unstructured_prune_spec(double sparsity) {
  if (!(sparsity > 0 && sparsity < 1)) fail("--sparsity {}: must be in (0, 1) (the fraction of weights to zero)", sparsity);
  PruneSpec s;
  s.sparsity = sparsity;
  return s;
}

namespace {

// Zeroes the `k` lowest-scoring of the `len` weights w[0..len) (scores sc); the lower index first on ties.
int64_t zero_lowest(float* w, const float* sc, int64_t len, int64_t k, std::vector<int32_t>& order) {
  order.resize(static_cast<size_t>(len));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return sc[a] < sc[b]; });
  int64_t zeroed = 0;
  for (int64_t i = 0; i < k; ++i) {
    float& x = w[order[static_cast<size_t>(i)]];
    zeroed += x != 0.0f;
    x = 0.0f;
  }
  return zeroed;
}

}  // namespace

int64_t prune_rows(std::span<float> w, int64_t rows, int64_t cols, std::span<const float> scale,
                   const PruneSpec& spec, const std::string& name) {
  if (rows < 0 || cols <= 0 || static_cast<int64_t>(w.size()) != rows * cols)
    fail("pruning {}: {} values for a ({}, {}) matrix", name, w.size(), rows, cols);
  if (!scale.empty() && static_cast<int64_t>(scale.size()) != cols)
    fail("pruning {} ({}, {}): {} input scales, expected {}", name, rows, cols, scale.size(), cols);
  if (spec.n_m()) {
    if (spec.n < 1 || spec.n >= spec.m) fail("pruning {}: bad N:M {}", name, spec.describe());
    if (cols % spec.m != 0)
      fail("pruning {} ({}, {}) with {}: the input dimension {} is not divisible by M = {}", name, rows, cols,
           spec.describe(), cols, spec.m);
  } else if (!(spec.sparsity > 0 && spec.sparsity < 1)) {
    fail("pruning {}: sparsity {} is not in (0, 1)", name, spec.sparsity);
  }
  const int64_t k = spec.n_m() ? 0 : static_cast<int64_t>(std::floor(static_cast<double>(cols) * spec.sparsity));
  int64_t zeroed = 0;
#pragma omp parallel reduction(+ : zeroed) if (rows * cols >= (int64_t{1} << 16))
  {
    std::vector<float> sc(static_cast<size_t>(cols));
    std::vector<int32_t> order;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      float* wr = w.data() + r * cols;
      for (int64_t j = 0; j < cols; ++j) sc[j] = std::fabs(wr[j]) * (scale.empty() ? 1.0f : scale[j]);
      if (spec.n_m()) {
        for (int64_t g = 0; g < cols; g += spec.m)
          zeroed += zero_lowest(wr + g, sc.data() + g, spec.m, spec.m - spec.n, order);
      } else {
        zeroed += zero_lowest(wr, sc.data(), cols, k, order);
      }
    }
  }
  return zeroed;
}

}  // namespace baimo
