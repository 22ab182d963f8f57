// Test helpers for model-rewriting code (grow, structured pruning; test-only header): random
// parameters by name, a Transformer over them, its logits.
#pragma once
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "baimo/autograd/tape.h"
#include "baimo/compress/param_map.h"
#include "baimo/model/init.h"
#include "baimo/model/param_layout.h"
#include "baimo/model/transformer.h"

namespace baimo::testing {

// Every parameter of param_layout(c), initialised as a model is, with non-trivial norms and biases.
inline ParamMap random_params(const ModelConfig& c, uint32_t seed) {
  ParamMap p;
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  for (const ParamSpec& s : param_layout(c)) {
    auto& v = p[s.name];
    v.resize(static_cast<size_t>(s.numel()));
    init_param(s, 0.2, seed, v);
    if (s.kind != ParamKind::Matrix && s.kind != ParamKind::Embedding)
      for (float& x : v) x += nd(rng);
  }
  return p;
}

inline Transformer model_of(const ModelConfig& c, const ParamMap& p) {
  Transformer m(c);
  for (const auto& param : m.params()) {
    const auto& v = p.at(param.spec.name);
    std::copy(v.begin(), v.end(), param.var.node()->value.data<float>());
  }
  return m;
}

// logits (B, T, V), flattened.
inline std::vector<float> logits_of(const Transformer& m, const Tensor& ids) {
  const ag::Var l = m.logits(ids);
  const float* d = l.value().data<float>();
  std::vector<float> out(d, d + l.numel());
  ag::reset_step();
  return out;
}

// max |a - b| over max |a|.
inline float relative_gap(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0, scale = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i])), scale = std::max(scale, std::abs(a[i]));
  return scale > 0 ? worst / scale : worst;
}

}  // namespace baimo::testing
