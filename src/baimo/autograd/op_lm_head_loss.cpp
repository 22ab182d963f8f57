// lm_head_loss / lm_head_loss_frozen: cross_entropy(linear(h, W)) without the (rows, V) logits, and
// lm_head_logprobs / lm_head_logprobs_frozen: the per-row log-probs of the targets, the same way.
// Both are one forward (head_forward: per kept row its log-prob, saving its lse) and one backward
// (head_backward: a per-row coefficient g_r on softmax - onehot): the mean loss is g_r = dloss / count,
// the log-probs g_r = -dy[r].
// The rows whose target is not the ignore index are gathered (prompt tokens cost nothing) and
// processed in chunks of R rows; each chunk walks W in tiles of nv rows, so only an (R, nv) tile of
// logits exists at a time (a few MB). Forward: per tile, the product, the tile's log-sum-exp folded
// into the row's running one, and the target logit when it falls in the tile; saves one lse per
// kept row. Backward: per tile, the product again, softmax - onehot scaled by the row's coefficient in place
// (Backend::logsoftmax_tile_bwd, per-row coefficients), then dh_chunk (+)= G W_tile and, for an f32 W that requires grad,
// dW_tile (+)= G^T h_chunk. The frozen form uses the products linear_frozen uses (int8 activation
// blocks for Q8_0 / Q4_0 through weight_matmul, f32 tiles otherwise; weight_matmul_t for dh), on row
// slices of W (cpu::row_slice). Deterministic for a fixed thread count (fixed tile order).
// Token rows (TokenRows, PEFT's trainable tokens on a tied head): Head::logits overwrites the replaced
// columns of each tile with h . values[k]; backward takes those columns of the tile's gradient out
// (zeroing them before the dh / dW products) and pushes them to dh (through values) and d(values).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"
#include "baimo/kernels/cpu/weight_pack.h"

namespace baimo::ag {

namespace {

constexpr int64_t kDefaultRows = 512;        // rows per chunk
constexpr int64_t kTileFloats = int64_t{1} << 20;  // ~4 MB of logits per (rows, nv) tile
constexpr int64_t kColAlign = 16;            // tile starts on 16-row groups (packed Q8_0 / Q4_0)

// W as the op sees it: an f32 Var or a frozen WeightMatrix.
struct Head {
  Var var;              // the f32 weight, or undefined
  WeightMatrix frozen;  // the frozen weight when var is undefined (a view: the caller keeps it alive)
  int64_t V = 0, C = 0;
  TokenRows rows;                             // replaced rows (trainable tokens), or empty
  std::vector<std::pair<int32_t, int32_t>> sel;  // (id, k) of rows, by id

  // The replaced columns of the tile [v0, v0 + n): out[i, id - v0] = hb[i] . values[k].
  void replace(const float* hb, int64_t r, int64_t v0, int64_t n, float* out) const {
    if (sel.empty()) return;
    const float* vv = rows.values.value().data<float>();
    for (const auto& [id, k] : sel) {
      if (id < v0 || id >= v0 + n) continue;
      const float* v = vv + static_cast<int64_t>(k) * C;
      for (int64_t i = 0; i < r; ++i) {
        const float* x = hb + i * C;
        float d = 0.f;
#pragma omp simd reduction(+ : d)
        for (int64_t j = 0; j < C; ++j) d += x[j] * v[j];
        out[i * n + (id - v0)] = d;
      }
    }
  }

  // out (r, n) = hb (r, C) W[v0 : v0 + n]^T
  void logits(const float* hb, int64_t r, int64_t v0, int64_t n, float* out) const {
    if (var.defined()) {
      backend().gemm(false, true, r, n, C, 1.f, hb, C, var.value().data<float>() + v0 * C, C, 0.f, out, n);
    } else {
      const WeightMatrix s = cpu::row_slice(frozen, v0, n);
      if (s.type == DType::Q8_0 || s.type == DType::Q4_0)
        backend().weight_matmul(s, hb, r, out);
      else
        backend().weight_matmul_f32(s, hb, r, out);
    }
    replace(hb, r, v0, n, out);
  }
  // dh (r, C) (+)= g (r, n) W[v0 : v0 + n]
  void input_grad(const float* g, int64_t r, int64_t v0, int64_t n, float* dh, bool accumulate) const {
    if (var.defined()) {
      backend().gemm(false, false, r, C, n, 1.f, g, n, var.value().data<float>() + v0 * C, C, accumulate ? 1.f : 0.f,
                     dh, C);
    } else {
      backend().weight_matmul_t(cpu::row_slice(frozen, v0, n), g, r, dh, accumulate);
    }
  }
};

struct Chunks {
  int64_t rows, cols;
};

Chunks plan(const LmHeadChunks& want, int64_t kept, int64_t V) {
  if (want.rows < 0 || want.cols < 0) fail("lm_head_loss: chunk sizes ({}, {}) must be >= 0", want.rows, want.cols);
  Chunks c;
  c.rows = std::max<int64_t>(1, std::min(want.rows ? want.rows : kDefaultRows, kept));
  int64_t cols = want.cols ? want.cols : kTileFloats / c.rows;
  cols = std::max(kColAlign, (cols + kColAlign - 1) / kColAlign * kColAlign);
  c.cols = std::min(cols, V);
  return c;
}

void check_targets(const char* name, int64_t N, int64_t V, const Tensor& targets, int32_t ignore_index,
                   const Shape& hs, const std::string& ws) {
  using namespace detail;
  require_i32(name, targets, "targets");
  if (targets.numel() != N)
    fail("{}: targets {} must have one entry per row of h {} (weight {})", name, targets.shape().str(), hs.str(),
         ws);
  const int32_t* t = targets.data<int32_t>();
  for (int64_t r = 0; r < N; ++r)
    if (t[r] != ignore_index && (t[r] < 0 || t[r] >= V))
      fail("{}: target {} at row {} is outside [0, {}) and not the ignore index {}", name, t[r], r, V, ignore_index);
}

// Gathers rows idx[c0 .. c0 + r) of h into hb (r, C).
void gather(const float* h, const int32_t* idx, int64_t c0, int64_t r, int64_t C, float* hb) {
  for (int64_t i = 0; i < r; ++i) std::memcpy(hb + i * C, h + static_cast<int64_t>(idx[c0 + i]) * C, C * sizeof(float));
}

float log_add_exp(float a, float b) {
  if (a == -INFINITY) return b;
  if (b == -INFINITY) return a;
  const float m = std::max(a, b);
  return m + std::log1p(std::exp(std::min(a, b) - m));
}

// The kept rows (target != ignore_index) of one call and the chunking over them.
struct Kept {
  Tensor idx, kt, lse;  // I32 (kept): row of h; I32 (kept): its target; (kept): its log-sum-exp
  int64_t count = 0;
  Chunks ch{};
};

// Forward of both ops: picked[k] = log_softmax(h W^T)[idx[k], kt[k]] for every kept row k (picked
// holds at least one float); fills the lse for backward.
Kept head_forward(const Var& h, const Head& head, const Tensor& targets, int32_t ignore_index,
                  const LmHeadChunks& want, float* picked) {
  using namespace detail;
  const int64_t V = head.V, C = head.C, N = rows_of(h.value());
  const int32_t* t = targets.data<int32_t>();
  Kept k;
  for (int64_t r = 0; r < N; ++r) k.count += t[r] != ignore_index;
  const int64_t kept = k.count;
  k.idx = alloc({std::max<int64_t>(kept, 1)}, DType::I32);
  k.kt = alloc({std::max<int64_t>(kept, 1)}, DType::I32);
  k.lse = alloc({std::max<int64_t>(kept, 1)});
  {
    int32_t* ix = k.idx.data<int32_t>();
    int32_t* kx = k.kt.data<int32_t>();
    for (int64_t r = 0, j = 0; r < N; ++r)
      if (t[r] != ignore_index) {
        ix[j] = static_cast<int32_t>(r);
        kx[j++] = t[r];
      }
  }
  k.ch = plan(want, kept, V);
  const Chunks ch = k.ch;
  if (kept == 0) return k;
  std::vector<float> hb(static_cast<size_t>(ch.rows * C)), tile(static_cast<size_t>(ch.rows * ch.cols));
  std::vector<float> tlse(static_cast<size_t>(ch.rows)), run(static_cast<size_t>(ch.rows)),
      pick(static_cast<size_t>(ch.rows));
  const int32_t* ix = k.idx.data<int32_t>();
  const int32_t* kx = k.kt.data<int32_t>();
  float* ls = k.lse.data<float>();
  for (int64_t c0 = 0; c0 < kept; c0 += ch.rows) {
    const int64_t r = std::min(ch.rows, kept - c0);
    gather(h.value().data<float>(), ix, c0, r, C, hb.data());
    std::fill(run.begin(), run.begin() + r, -INFINITY);
    for (int64_t v0 = 0; v0 < V; v0 += ch.cols) {
      const int64_t n = std::min(ch.cols, V - v0);
      head.logits(hb.data(), r, v0, n, tile.data());
      backend().logsoftmax_rows(tile.data(), nullptr, r, n, ignore_index, tlse.data(), nullptr);
      for (int64_t i = 0; i < r; ++i) {
        run[i] = log_add_exp(run[i], tlse[i]);
        const int64_t tg = kx[c0 + i];
        if (tg >= v0 && tg < v0 + n) pick[i] = tile[i * n + (tg - v0)];
      }
    }
    for (int64_t i = 0; i < r; ++i) {
      ls[c0 + i] = run[i];
      picked[c0 + i] = pick[i] - run[i];
    }
  }
  return k;
}

// Backward of both ops: dlogits[idx[k], :] = coef[k] * (softmax - onehot(kt[k])) for every kept row,
// pushed through the head: dh rows (ignored rows get nothing) and, for an f32 W that requires grad, dW.
void head_backward(const Var& h, const Head& head, const Kept& k, const float* coef) {
  const int64_t V = head.V, C = head.C, N = detail::rows_of(h.value()), kept = k.count;
  const Chunks ch = k.ch;
  const bool want_h = h.requires_grad(), want_w = head.var.defined() && head.var.requires_grad();
  const bool want_v = !head.rows.empty() && head.rows.values.requires_grad();
  bool acc_h = false, acc_w = false, acc_v = false;
  float* dh = want_h ? h.grad_for_write(acc_h) : nullptr;
  float* dW = want_w ? head.var.grad_for_write(acc_w) : nullptr;
  float* dV = want_v ? head.rows.values.grad_for_write(acc_v) : nullptr;
  if (dV && !acc_v) std::fill(dV, dV + head.rows.values.numel(), 0.f);
  const float* vv = head.rows.empty() ? nullptr : head.rows.values.value().data<float>();
  std::vector<float> gsel(static_cast<size_t>(ch.rows));
  // Ignored rows get no gradient: dh starts from zero (or what it holds) and kept rows are added.
  if (dh && !acc_h) std::fill(dh, dh + N * C, 0.f);
  if (dW && !acc_w && kept == 0) std::fill(dW, dW + V * C, 0.f);
  if (kept == 0) return;
  std::vector<float> hb(static_cast<size_t>(ch.rows * C)), tile(static_cast<size_t>(ch.rows * ch.cols));
  std::vector<float> dhb(dh ? static_cast<size_t>(ch.rows * C) : 0);
  const int32_t* ix = k.idx.data<int32_t>();
  const int32_t* kx = k.kt.data<int32_t>();
  const float* ls = k.lse.data<float>();
  for (int64_t c0 = 0; c0 < kept; c0 += ch.rows) {
    const int64_t r = std::min(ch.rows, kept - c0);
    gather(h.value().data<float>(), ix, c0, r, C, hb.data());
    for (int64_t v0 = 0; v0 < V; v0 += ch.cols) {
      const int64_t n = std::min(ch.cols, V - v0);
      head.logits(hb.data(), r, v0, n, tile.data());
      // kept rows only: the ignore index never matches (kx holds real targets)
      backend().logsoftmax_tile_bwd(tile.data(), kx + c0, ls + c0, coef + c0, r, n, v0, -1);
      // Replaced columns: their gradient goes to the token rows (and through them to h), not to W.
      std::vector<std::pair<int32_t, std::vector<float>>> taken;
      for (const auto& [id, k] : head.sel) {
        if (id < v0 || id >= v0 + n) continue;
        for (int64_t i = 0; i < r; ++i) {
          gsel[static_cast<size_t>(i)] = tile[i * n + (id - v0)];
          tile[i * n + (id - v0)] = 0.f;
        }
        taken.emplace_back(k, std::vector<float>(gsel.begin(), gsel.begin() + r));
      }
      if (dh) head.input_grad(tile.data(), r, v0, n, dhb.data(), v0 > 0);
      if (dW)
        backend().gemm(true, false, n, C, r, 1.f, tile.data(), n, hb.data(), C, (c0 == 0 && !acc_w) ? 0.f : 1.f,
                       dW + v0 * C, C);
      for (const auto& [k, g] : taken) {
        const float* v = vv + static_cast<int64_t>(k) * C;
        float* dv = dV ? dV + static_cast<int64_t>(k) * C : nullptr;
        for (int64_t i = 0; i < r; ++i) {
          const float gi = g[static_cast<size_t>(i)];
          if (dh) {
            float* d = dhb.data() + i * C;
            for (int64_t j = 0; j < C; ++j) d[j] += gi * v[j];
          }
          if (dv) {
            const float* x = hb.data() + i * C;
            for (int64_t j = 0; j < C; ++j) dv[j] += gi * x[j];
          }
        }
      }
    }
    if (dh)
      for (int64_t i = 0; i < r; ++i) {
        float* dst = dh + static_cast<int64_t>(ix[c0 + i]) * C;
        const float* src = dhb.data() + i * C;
#pragma omp simd
        for (int64_t j = 0; j < C; ++j) dst[j] += src[j];
      }
  }
}

// The mean loss: -sum_k picked[k] / kept -> (1); its gradient is coef[k] = dloss / kept for every kept row.
Var head_loss(const Var& h, const Head& head, const Tensor& targets, int32_t ignore_index,
              const LmHeadChunks& want) {
  using namespace detail;
  std::vector<float> picked(static_cast<size_t>(std::max<int64_t>(targets.numel(), 1)));
  const Kept k = head_forward(h, head, targets, ignore_index, want, picked.data());
  double total = 0;
  for (int64_t i = 0; i < k.count; ++i) total += picked[static_cast<size_t>(i)];
  Tensor out = alloc({1});
  out.data<float>()[0] = k.count ? static_cast<float>(-total / static_cast<double>(k.count)) : 0.f;
  Var y = make_output(out, should_record(h, head.var, head.rows.values));
  if (y.requires_grad()) {
    tape().record([h, head, y, k] {
      if (!y.has_grad()) return;
      const float g = y.node()->grad.data<float>()[0] / static_cast<float>(std::max<int64_t>(k.count, 1));
      const std::vector<float> coef(static_cast<size_t>(std::max<int64_t>(k.count, 1)), g);
      head_backward(h, head, k, coef.data());
    });
  }
  return y;
}

// Per-row log-probs: out[r] = picked of row r, 0 for ignored rows -> (rows); coef[k] = -dy[idx[k]]
// (d logp / d logits = onehot - softmax).
Var head_logprobs(const Var& h, const Head& head, const Tensor& targets, int32_t ignore_index,
                  const LmHeadChunks& want) {
  using namespace detail;
  const int64_t N = rows_of(h.value());
  Tensor picked = alloc({std::max<int64_t>(N, 1)});
  const Kept k = head_forward(h, head, targets, ignore_index, want, picked.data<float>());
  Tensor out = alloc({N});
  float* o = out.data<float>();
  std::fill(o, o + N, 0.f);
  const int32_t* ix = k.idx.data<int32_t>();
  for (int64_t i = 0; i < k.count; ++i) o[ix[i]] = picked.data<float>()[i];
  Var y = make_output(out, should_record(h, head.var, head.rows.values));
  if (y.requires_grad()) {
    tape().record([h, head, y, k] {
      if (!y.has_grad()) return;
      const float* dy = y.node()->grad.data<float>();
      const int32_t* rows = k.idx.data<int32_t>();
      std::vector<float> coef(static_cast<size_t>(std::max<int64_t>(k.count, 1)));
      for (int64_t i = 0; i < k.count; ++i) coef[static_cast<size_t>(i)] = -dy[rows[i]];
      head_backward(h, head, k, coef.data());
    });
  }
  return y;
}

}  // namespace

namespace {

// The head of an f32 weight Var, checked against h and targets (errors name the op).
// The replaced rows of a head (V, C): checked, and listed by id.
void set_rows(const char* name, Head& head, const TokenRows& rows) {
  using namespace detail;
  if (rows.empty()) return;
  require_i32(name, rows.ids, "rows.ids");
  require_f32(name, rows.values, "rows.values");
  const int64_t K = rows.ids.numel();
  if (rows.values.value().dim() != 2 || rows.values.size(0) != K || rows.values.size(1) != head.C)
    fail("{}: rows.values {} must be ({}, {})", name, rows.values.shape().str(), K, head.C);
  const int32_t* id = rows.ids.data<int32_t>();
  for (int64_t k = 0; k < K; ++k) {
    if (id[k] < 0 || id[k] >= head.V) fail("{}: token row id {} is outside [0, {})", name, id[k], head.V);
    head.sel.emplace_back(id[k], static_cast<int32_t>(k));
  }
  std::sort(head.sel.begin(), head.sel.end());
  for (size_t i = 1; i < head.sel.size(); ++i)
    if (head.sel[i].first == head.sel[i - 1].first) fail("{}: token row id {} is listed twice", name, head.sel[i].first);
  head.rows = rows;
}

Head f32_head(const char* name, const Var& h, const Var& weight, const Tensor& targets, int32_t ignore_index) {
  using namespace detail;
  require_f32(name, h, "h");
  require_f32(name, weight, "weight");
  if (weight.value().dim() != 2) fail("{}: weight must be (V, C), got {}", name, weight.shape().str());
  const int64_t V = weight.size(0), C = weight.size(1);
  if (h.value().dim() < 1 || h.size(-1) != C)
    fail("{}: h {} does not end in the weight's C of {}", name, h.shape().str(), weight.shape().str());
  check_targets(name, rows_of(h.value()), V, targets, ignore_index, h.shape(), weight.shape().str());
  Head head;
  head.var = weight;
  head.V = V;
  head.C = C;
  return head;
}

// The head of a frozen WeightMatrix, checked the same way.
Head frozen_head(const char* name, const Var& h, const WeightMatrix& w, const Tensor& targets, int32_t ignore_index) {
  using namespace detail;
  require_f32(name, h, "h");
  if (!w.defined()) fail("{}: weight ({}, {}) has no data", name, w.rows, w.cols);
  const int64_t V = w.rows, C = w.cols;
  if (h.value().dim() < 1 || h.size(-1) != C)
    fail("{}: h {} does not end in in_features {} of weight ({}, {}) {}", name, h.shape().str(), C, V, C,
         dtype_info(w.type).name);
  check_targets(name, rows_of(h.value()), V, targets, ignore_index, h.shape(),
                fmt::format("({}, {}) {}", V, C, dtype_info(w.type).name));
  Head head;
  head.frozen = w;
  head.V = V;
  head.C = C;
  return head;
}

Head with_rows(const char* name, Head head, const TokenRows& rows) {
  set_rows(name, head, rows);
  return head;
}

}  // namespace

Var lm_head_loss(const Var& h, const Var& weight, const Tensor& targets, int32_t ignore_index,
                 const LmHeadChunks& chunks, const TokenRows& rows) {
  return head_loss(h, with_rows("lm_head_loss", f32_head("lm_head_loss", h, weight, targets, ignore_index), rows),
                   targets, ignore_index, chunks);
}

Var lm_head_loss_frozen(const Var& h, const WeightMatrix& w, const Tensor& targets, int32_t ignore_index,
                        const LmHeadChunks& chunks, const TokenRows& rows) {
  return head_loss(
      h, with_rows("lm_head_loss_frozen", frozen_head("lm_head_loss_frozen", h, w, targets, ignore_index), rows),
      targets, ignore_index, chunks);
}

Var lm_head_logprobs(const Var& h, const Var& weight, const Tensor& targets, int32_t ignore_index,
                     const LmHeadChunks& chunks, const TokenRows& rows) {
  return head_logprobs(
      h, with_rows("lm_head_logprobs", f32_head("lm_head_logprobs", h, weight, targets, ignore_index), rows), targets,
      ignore_index, chunks);
}

Var lm_head_logprobs_frozen(const Var& h, const WeightMatrix& w, const Tensor& targets, int32_t ignore_index,
                            const LmHeadChunks& chunks, const TokenRows& rows) {
  return head_logprobs(
      h,
      with_rows("lm_head_logprobs_frozen", frozen_head("lm_head_logprobs_frozen", h, w, targets, ignore_index), rows),
      targets, ignore_index, chunks);
}

}  // namespace baimo::ag
