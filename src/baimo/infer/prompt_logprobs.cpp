#include "baimo/infer/prompt_logprobs.h"

#include <algorithm>
#include <cmath>

#include "baimo/util/error.h"

namespace baimo {

PromptLogprob token_logprob(std::span<const float> row, int32_t id, int top) {
  const size_t V = row.size();
  if (id < 0 || static_cast<size_t>(id) >= V) fail("token id {} is outside the logits row of {}", id, V);
  float mx = row[0];
  for (size_t v = 1; v < V; ++v) mx = std::max(mx, row[v]);
  double z = 0;
  for (size_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v]) - mx);
  const double lse = static_cast<double>(mx) + std::log(z);
  PromptLogprob out;
  out.logprob = static_cast<double>(row[static_cast<size_t>(id)]) - mx - std::log(z);
  if (top > 0) {
    const size_t k = std::min(V, static_cast<size_t>(top));
    std::vector<std::pair<float, int32_t>> c(V);
    for (size_t i = 0; i < V; ++i) c[i] = {row[i], static_cast<int32_t>(i)};
    std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(k), c.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    for (size_t i = 0; i < k; ++i) out.top.emplace_back(c[i].second, static_cast<float>(c[i].first - lse));
  }
  return out;
}

}  // namespace baimo
