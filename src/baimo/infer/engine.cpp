#include "baimo/infer/engine.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <span>

#include "baimo/kernels/backend.h"
#include "baimo/kernels/team_matmul.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

template <class T>
void grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

void add_bias(float* y, const float* b, int64_t rows, int64_t cols) {
  if (!b) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* yr = y + r * cols;
#pragma omp simd
    for (int64_t i = 0; i < cols; ++i) yr[i] += b[i];
  }
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

// Matrices that read the same input: one weight_matmul_multi pass (one activation quantization
// and one parallel region) unless they go through BLAS.
void matmul_group(std::initializer_list<const WeightMatrix*> ws, const float* x, int64_t n,
                  std::initializer_list<float*> ys) {
  bool blas = n >= kBlasRows;
  for (const auto* w : ws) blas = blas && w->type == DType::F32;
  if (blas) {
    auto y = ys.begin();
    for (const auto* w : ws) matmul(*w, x, n, *y++);
    return;
  }
  backend().weight_matmul_multi(std::span(ws.begin(), ws.size()), x, n, std::span(ys.begin(), ys.size()));
}

void add_into(float* x, const float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
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
  for (const LayerWeights& L : w_->layers) {
    const WeightMatrix* qkv[] = {&L.q, &L.k, &L.v};
    const WeightMatrix* gate_up[] = {&L.gate, &L.up};
    team_matmul_check(qkv, TeamLayout::Stacked);
    team_matmul_check(gate_up, TeamLayout::Paired);
    for (const WeightMatrix* single : {&L.o, &L.down}) team_matmul_check({&single, 1}, TeamLayout::Stacked);
  }
  const WeightMatrix* head = &w_->lm_head;
  team_matmul_check({&head, 1}, TeamLayout::Stacked);
  slot_seen_.assign(static_cast<size_t>(n_slots), 0);
  // Warm the rotary table up to the last position so that forward() never grows it.
  std::vector<float> dummy(static_cast<size_t>(c.head_dim));
  const int32_t last = static_cast<int32_t>(ctx - 1);
  backend().rope(dummy.data(), &last, 1, 1, 1, c.head_dim, static_cast<float>(c.rope_theta), false, dummy.data(),
                 false);
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
  grow(rstd_, R);
  // forward_team: every thread calls kv_attention with its own scratch, room for a nested team.
  const int64_t group = c.num_attention_heads / c.num_key_value_heads, threads = omp_get_max_threads();
  grow(scratch_, static_cast<size_t>(threads * threads * backend().kv_attention_scratch(group, c.head_dim)));
  grow(team_h_, static_cast<size_t>(threads) * R * c.hidden_size);
  const float* now[] = {q_.data(), k_.data(), v_.data(), tmp_.data(), gate_.data(), up_.data()};
  if (!std::equal(std::begin(planned), std::end(planned), std::begin(now))) team_key_[0] = -1;  // re-plan
}

void Engine::layer(int64_t l, int64_t n) {
  const ModelConfig& c = w_->config;
  const LayerWeights& L = w_->layers[static_cast<size_t>(l)];
  const int64_t C = c.hidden_size, H = c.num_attention_heads, KV = c.num_key_value_heads, D = c.head_dim;
  const int64_t Q = c.q_dim(), KVD = c.kv_dim(), F = c.intermediate_size;
  const float eps = static_cast<float>(c.rms_norm_eps), theta = static_cast<float>(c.rope_theta);
  Backend& be = backend();

  // Attention.
  be.rmsnorm_fwd(x_.data(), L.attn_norm, n, C, eps, h_.data(), rstd_.data());
  matmul_group({&L.q, &L.k, &L.v}, h_.data(), n, {q_.data(), k_.data(), v_.data()});
  add_bias(q_.data(), L.q_bias, n, Q);
  add_bias(k_.data(), L.k_bias, n, KVD);
  add_bias(v_.data(), L.v_bias, n, KVD);
  be.rope(q_.data(), pos_.data(), 1, n, H, D, theta, false, q_.data(), false);
  be.rope(k_.data(), pos_.data(), 1, n, KV, D, theta, false, k_.data(), false);
  for (int64_t r = 0; r < n; ++r) {
    const size_t off = static_cast<size_t>(pos_[r]) * KVD;
    std::memcpy(cache_.keys(l, row_slot_[r]) + off, k_.data() + r * KVD, KVD * sizeof(float));
    std::memcpy(cache_.values(l, row_slot_[r]) + off, v_.data() + r * KVD, KVD * sizeof(float));
  }
  be.kv_attention(q_.data(), n, row_slot_.data(), pos_.data(), cache_.view(l), H, KV, D, att_.data(), scratch_.data());
  matmul(L.o, att_.data(), n, tmp_.data());
  add_bias(tmp_.data(), L.o_bias, n, C);
  add_into(x_.data(), tmp_.data(), n * C);

  // SwiGLU MLP.
  be.rmsnorm_fwd(x_.data(), L.mlp_norm, n, C, eps, h_.data(), rstd_.data());
  matmul_group({&L.gate, &L.up}, h_.data(), n, {gate_.data(), up_.data()});
  be.swiglu_fwd(gate_.data(), up_.data(), n * F, gate_.data());
  matmul(L.down, gate_.data(), n, tmp_.data());
  add_into(x_.data(), tmp_.data(), n * C);
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

  if (n < kBlasRows) {
    forward_team(n, m, logits);
  } else {
    forward_ops(n, m, logits);
  }
  for (const Chunk& ch : chunks)
    cache_.set_length(ch.slot, cache_.length(ch.slot) + static_cast<int64_t>(ch.tokens.size()));
}

void Engine::forward_ops(int64_t n, int64_t m, std::vector<float>& logits) {
  const ModelConfig& c = w_->config;
  const int64_t C = c.hidden_size, V = c.vocab_size;
  // Embedding rows (dequantized when the table is stored quantized).
  const auto* table = static_cast<const uint8_t*>(w_->embed.data);
  const size_t row_bytes = w_->embed.row_bytes();
#pragma omp parallel for schedule(static) if (n * C > 65536)
  for (int64_t i = 0; i < n; ++i)
    quant::dequantize_row(w_->embed.type, table + static_cast<size_t>(ids_[i]) * row_bytes, x_.data() + i * C,
                          static_cast<size_t>(C));

  for (int64_t l = 0; l < c.num_hidden_layers; ++l) layer(l, n);

  // Final norm and lm_head over the rows that give logits only.
  for (int64_t i = 0; i < m; ++i)
    if (out_rows_[i] != i) std::memcpy(x_.data() + i * C, x_.data() + out_rows_[i] * C, C * sizeof(float));
  backend().rmsnorm_fwd(x_.data(), w_->final_norm, m, C, static_cast<float>(c.rms_norm_eps), h_.data(), rstd_.data());
  logits.resize(static_cast<size_t>(m * V));
  matmul(w_->lm_head, h_.data(), m, logits.data());
}

}  // namespace baimo
