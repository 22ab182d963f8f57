#include "baimo/infer/engine.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <span>

#include "baimo/infer/layer_step.h"
#include "baimo/kernels/backend.h"
#include "baimo/kernels/team_matmul.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

template <class T>
void grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// Sets the OpenMP thread count for the calling thread's next parallel regions; restores it on exit.
struct ThreadCountScope {
  int saved;
  explicit ThreadCountScope(int n) : saved(omp_get_max_threads()) {
    if (n != saved) omp_set_num_threads(n);
  }
  ~ThreadCountScope() {
    if (omp_get_max_threads() != saved) omp_set_num_threads(saved);
  }
};

// Rows of a step from which f32 weights go through BLAS (cache-blocked GEMM) instead of the
// matrix-vector kernels of weight_matmul, which re-read the weights every 8 rows.
constexpr int64_t kBlasRows = 16;

// y (n, w.rows) = x (n, w.cols) W^T.
void matmul(const WeightMatrix& w, const float* x, int64_t n, float* y) {
  if (w.type == DType::F32 && n >= kBlasRows && !w.packed)
    backend().gemm(false, true, n, w.rows, w.cols, 1.0f, x, w.cols, static_cast<const float*>(w.data), w.cols, 0.0f,
                   y, w.rows);
  else
    backend().weight_matmul(w, x, n, y);
}

// A stage's product (layer_step.h) over n rows of x: matrices that read the same input go through
// one weight_matmul_multi pass (one activation quantization and one parallel region) unless they
// go through BLAS.
void run_product(const StepProduct& p, const float* x, int64_t n) {
  bool blas = n >= kBlasRows;
  for (int i = 0; i < p.count; ++i) blas = blas && p.ws[i]->type == DType::F32;
  if (blas) {
    for (int i = 0; i < p.count; ++i) matmul(*p.ws[i], x, n, p.ys[i]);
    return;
  }
  backend().weight_matmul_multi(std::span(p.ws, static_cast<size_t>(p.count)), x, n,
                             std::span(p.ys, static_cast<size_t>(p.count)));
}

// f(r0, r1) over rows [0, n) split into one block per thread when the work pays for the fork.
template <class F>
void for_rows(int64_t n, int64_t work, const F& f) {
  if (work <= 65536 || omp_get_max_threads() == 1) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    f(n * t / nt, n * (t + 1) / nt);
  }
}

}  // namespace

Engine::Engine(std::shared_ptr<const ModelWeights> weights, int n_slots, int64_t ctx)
    : w_(std::move(weights)),
      cache_(w_->config, n_slots, ctx),
      rope_(static_cast<float>(w_->config.rope_theta), w_->config.head_dim, ctx) {
  const ModelConfig& c = w_->config;
  if (ctx > c.max_position_embeddings)
    fail("context {} exceeds the model's max_position_embeddings {}", ctx, c.max_position_embeddings);
  validate_model_weights(*w_, "engine");
  // forward_team's products (checked here: an exception cannot leave its parallel region).
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const LayerStep step(c, w_->layers[static_cast<size_t>(l)], l, cache_, rope_, StepRows{});
    for (int s = 0; s < LayerStep::kStages; ++s) {
      const StepProduct p = step.product(static_cast<LayerStep::Stage>(s));
      if (p.count > 0) team_matmul_check(std::span(p.ws, static_cast<size_t>(p.count)), p.layout);
    }
  }
  const WeightMatrix* head = &w_->lm_head;
  team_matmul_check({&head, 1}, TeamLayout::Stacked);
  slot_seen_.assign(static_cast<size_t>(n_slots), 0);
}

void Engine::check(std::span<const Chunk> chunks) {
  const int64_t V = w_->config.vocab_size;
  std::fill(slot_seen_.begin(), slot_seen_.end(), 0);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& ch = chunks[i];
    if (ch.slot < 0 || ch.slot >= n_slots())
      fail("engine: chunk {} names slot {}, the engine has slots 0..{}", i, ch.slot, n_slots() - 1);
    if (slot_seen_[static_cast<size_t>(ch.slot)]) fail("engine: slot {} appears twice in one forward pass", ch.slot);
    slot_seen_[static_cast<size_t>(ch.slot)] = 1;
    if (ch.tokens.empty()) fail("engine: chunk {} (slot {}) has no tokens", i, ch.slot);
    const int64_t have = cache_.length(ch.slot), n = static_cast<int64_t>(ch.tokens.size());
    if (have + n > ctx())
      fail("context overflow: slot {} holds {} tokens, {} more exceed the context of {} tokens", ch.slot, have, n,
           ctx());
    for (size_t t = 0; t < ch.tokens.size(); ++t)
      if (ch.tokens[t] < 0 || ch.tokens[t] >= V)
        fail("engine: token id {} (slot {}, chunk position {}) is outside the vocabulary (size {})", ch.tokens[t],
             ch.slot, t, V);
  }
}

void Engine::reserve(int64_t rows, int64_t out_rows) {
  const ModelConfig& c = w_->config;
  const size_t R = static_cast<size_t>(rows);
  const float* planned[] = {q_.data(), k_.data(), v_.data(), tmp_.data(), gate_.data(), up_.data()};
  grow(ids_, R);
  grow(pos_, R);
  grow(row_slot_, R);
  grow(out_rows_, static_cast<size_t>(out_rows));
  grow(x_, R * c.hidden_size);
  grow(h_, R * c.hidden_size);
  grow(tmp_, R * c.hidden_size);
  grow(q_, R * c.q_dim());
  grow(att_, R * c.q_dim());
  grow(k_, R * c.kv_dim());
  grow(v_, R * c.kv_dim());
  grow(gate_, R * c.intermediate_size);
  grow(up_, R * c.intermediate_size);
  // forward_team: every thread calls kv_attention with its own scratch, room for a nested team.
  const int64_t group = c.num_attention_heads / c.num_key_value_heads, threads = omp_get_max_threads();
  grow(scratch_, static_cast<size_t>(threads * threads * backend().kv_attention_scratch(group, c.head_dim)));
  grow(team_h_, static_cast<size_t>(threads) * R * c.hidden_size);
  const float* now[] = {q_.data(), k_.data(), v_.data(), tmp_.data(), gate_.data(), up_.data()};
  if (!std::equal(std::begin(planned), std::end(planned), std::begin(now))) team_key_[0] = -1;  // re-plan
}

void Engine::forward(std::span<const Chunk> chunks, std::vector<float>& logits) {
  check(chunks);
  const ModelConfig& c = w_->config;
  const int64_t C = c.hidden_size, V = c.vocab_size;
  int64_t n = 0, m = 0;
  for (const Chunk& ch : chunks) {
    n += static_cast<int64_t>(ch.tokens.size());
    m += ch.all_logits ? static_cast<int64_t>(ch.tokens.size()) : 1;
  }
  const int64_t layer_macs = c.num_hidden_layers * (2 * c.q_dim() * C + 2 * c.kv_dim() * C + 3 * c.intermediate_size * C);
  // Steps with less work than parallel_macs_ run on one thread: OpenMP fork/join costs
  // microseconds on an idle machine but up to a scheduler time slice per barrier on a loaded one,
  // more than a tiny model's whole step.
  ThreadCountScope threads(n * layer_macs + m * V * C < parallel_macs_ ? 1 : omp_get_max_threads());
  reserve(n, m);

  // Rows of this step: token id, slot, absolute position; which rows produce logits.
  int64_t r = 0, o = 0;
  for (const Chunk& ch : chunks) {
    const int64_t base = cache_.length(ch.slot), len = static_cast<int64_t>(ch.tokens.size());
    for (int64_t t = 0; t < len; ++t, ++r) {
      ids_[r] = ch.tokens[t];
      row_slot_[r] = ch.slot;
      pos_[r] = static_cast<int32_t>(base + t);
      if (ch.all_logits || t == len - 1) out_rows_[o++] = static_cast<int32_t>(r);
    }
  }

  // Steps of fewer rows than the backend's team_step_rows (32 on AVX-512 CPUs: the float kernels'
  // 4x4 register tiles beat BLAS, which repacks the weights on every call; else kBlasRows) run in
  // one parallel region.
  if (n < std::max(kBlasRows, backend().team_step_rows())) {
    forward_team(n, m, logits);
  } else {
    forward_ops(n, m, logits);
  }
  for (const Chunk& ch : chunks)
    cache_.set_length(ch.slot, cache_.length(ch.slot) + static_cast<int64_t>(ch.tokens.size()));
}

StepRows Engine::step_rows(int64_t n) {
  StepRows r;
  r.n = n;
  r.ids = ids_.data();
  r.pos = pos_.data();
  r.slot = row_slot_.data();
  r.x = x_.data();
  r.q = q_.data();
  r.att = att_.data();
  r.k = k_.data();
  r.v = v_.data();
  r.tmp = tmp_.data();
  r.gate = gate_.data();
  r.up = up_.data();
  return r;
}

// Op by op: each stage of layer_step.h over all rows (norm and finish parallel over rows), each
// product parallel on its own.
void Engine::forward_ops(int64_t n, int64_t m, std::vector<float>& logits) {
  const ModelConfig& c = w_->config;
  const int64_t C = c.hidden_size, V = c.vocab_size;
  const StepRows rows = step_rows(n);
  float* h = h_.data();
  for_rows(n, n * C, [&](int64_t r0, int64_t r1) { embed_rows(*w_, rows, r0, r1); });

  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const LayerStep step(c, w_->layers[static_cast<size_t>(l)], l, cache_, rope_, rows);
    for (int si = 0; si < LayerStep::kStages; ++si) {
      const auto s = static_cast<LayerStep::Stage>(si);
      if (s == LayerStep::kAttend) {
        step.attend_rows(0, n, scratch_.data());
        continue;
      }
      if (step.norm_weight(s)) for_rows(n, n * C, [&](int64_t r0, int64_t r1) { step.norm(s, r0, r1, h); });
      const StepProduct p = step.product(s);
      run_product(p, p.in ? p.in : h, n);
      int64_t cols = 0;
      for (int i = 0; i < p.count; ++i) cols += p.ws[i]->rows;
      for_rows(n, n * cols, [&](int64_t r0, int64_t r1) {
        if (p.layout == TeamLayout::Paired)
          step.finish(s, -1, 0, p.ws[0]->rows, r0, r1);
        else
          for (int i = 0; i < p.count; ++i) step.finish(s, i, 0, p.ws[i]->rows, r0, r1);
      });
    }
  }

  // Final norm of the rows that give logits, then the LM head.
  for_rows(m, m * C, [&](int64_t i0, int64_t i1) { head_norm(*w_, rows, out_rows_.data(), i0, i1, h); });
  logits.resize(static_cast<size_t>(m * V));
  matmul(w_->lm_head, h, m, logits.data());
}

}  // namespace baimo
