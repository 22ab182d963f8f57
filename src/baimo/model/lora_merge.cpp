#include "baimo/model/lora_merge.h"

#include <algorithm>
#include <vector>

#include "baimo/model/param_layout.h"
#include "baimo/model/transformer.h"
#include "baimo/util/error.h"

namespace baimo {

void add_lora_delta(float* w, int64_t out, int64_t in, const float* a, const float* b, int64_t r, float scaling) {
  if (out <= 0 || in <= 0) return;
#pragma omp parallel
  {
    std::vector<float> d(static_cast<size_t>(in));
#pragma omp for schedule(static)
    for (int64_t o = 0; o < out; ++o) {
      std::fill(d.begin(), d.end(), 0.0f);
      for (int64_t k = 0; k < r; ++k) {
        const float bk = b[o * r + k];
        const float* ak = a + k * in;
        for (int64_t i = 0; i < in; ++i) d[static_cast<size_t>(i)] += bk * ak[i];
      }
      float* row = w + o * in;
      for (int64_t i = 0; i < in; ++i) row[i] += scaling * d[static_cast<size_t>(i)];
    }
  }
}

void check_lora_fits(const ModelConfig& cfg, const LoraAdapter& adapter, const std::string& where) {
  const std::vector<ParamSpec> params = param_layout(cfg);
  const int64_t r = adapter.config.r;
  for (const LoraAdapter::Pair& p : adapter.pairs) {
    const LoraSpec& s = p.spec;
    const ParamSpec* base = nullptr;
    for (const ParamSpec& ps : params)
      if (ps.layer == s.layer && ps.role == s.role) base = &ps;
    if (base == nullptr)
      fail("{}: LoRA tensor {} adapts layer {}, but the base model has {} layers", where, s.a_name, s.layer,
           cfg.num_hidden_layers);
    if (base->shape.size() != 2 || base->shape[0] != s.out || base->shape[1] != s.in)
      fail("{}: LoRA pair {} is for a ({}, {}) matrix, the base model's {} is ({}, {})", where, s.a_name, s.out, s.in,
           base->name, base->shape[0], base->shape.size() > 1 ? base->shape[1] : 0);
    const Shape& as = p.a.value().shape();
    const Shape& bs = p.b.value().shape();
    if (as.n != 2 || as[0] != r || as[1] != s.in)
      fail("{}: LoRA tensor {} should be ({}, {}) (r, in)", where, s.a_name, r, s.in);
    if (bs.n != 2 || bs[0] != s.out || bs[1] != r)
      fail("{}: LoRA tensor {} should be ({}, {}) (out, r)", where, s.b_name, s.out, r);
  }
  const std::vector<int32_t>& ids = adapter.config.trainable_tokens;
  if (ids.empty() != !adapter.token_rows.defined())
    fail("{}: the adapter lists {} trainable tokens but {} token rows", where, ids.size(),
         adapter.token_rows.defined() ? "has" : "no");
  if (adapter.token_rows.defined()) {
    const Shape& ts = adapter.token_rows.value().shape();
    if (ts.n != 2 || ts[0] != static_cast<int64_t>(ids.size()) || ts[1] != cfg.hidden_size)
      fail("{}: {} should be ({}, {}) (trainable tokens, hidden)", where, kTokenRowsName, ids.size(), cfg.hidden_size);
    for (int32_t id : ids)
      if (id < 0 || id >= cfg.vocab_size)
        fail("{}: trainable token id {} is outside the base model's vocabulary of {}", where, id, cfg.vocab_size);
  }
}

void merge_lora(Transformer& model, const LoraAdapter& adapter) {
  check_lora_fits(model.config(), adapter, "merge");
  const float scaling = adapter.config.scaling();
  for (const LoraAdapter::Pair& p : adapter.pairs) {
    const ag::Var& w = model.param(p.spec.base_name);
    add_lora_delta(w.value().data<float>(), p.spec.out, p.spec.in, p.a.value().data<float>(),
                   p.b.value().data<float>(), adapter.config.r, scaling);
  }
  if (adapter.token_rows.defined()) {
    float* e = model.param("model.embed_tokens.weight").value().data<float>();
    const float* v = adapter.token_rows.value().data<float>();
    const int64_t C = model.config().hidden_size;
    const std::vector<int32_t>& ids = adapter.config.trainable_tokens;
    for (size_t k = 0; k < ids.size(); ++k) std::copy_n(v + static_cast<int64_t>(k) * C, C, e + ids[k] * C);
  }
}

}  // namespace baimo
