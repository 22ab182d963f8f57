// replace_rows / replace_columns: PEFT's trainable tokens on an embedding and on the head tied to it
// (ops.h). Each builds a slot map (position -> k, or -1) once; backward is a plain loop over the
// replaced rows / columns only (K is a handful of template markers).
#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

namespace {

// ids of the rows, checked: I32 (K) distinct, values (K, C) F32.
std::unordered_map<int32_t, int32_t> slot_of(const char* op, const TokenRows& rows, int64_t C) {
  using namespace detail;
  require_i32(op, rows.ids, "rows.ids");
  require_f32(op, rows.values, "rows.values");
  const int64_t K = rows.ids.numel();
  if (rows.values.value().dim() != 2 || rows.values.size(0) != K || rows.values.size(1) != C)
    fail("{}: rows.values {} must be ({}, {}) (one row of C per id)", op, rows.values.shape().str(), K, C);
  std::unordered_map<int32_t, int32_t> m;
  const int32_t* id = rows.ids.data<int32_t>();
  for (int64_t k = 0; k < K; ++k)
    if (!m.emplace(id[k], static_cast<int32_t>(k)).second) fail("{}: token id {} is listed twice", op, id[k]);
  return m;
}

float dot(const float* a, const float* b, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) s += a[j] * b[j];
  return s;
}

}  // namespace

Var replace_rows(const Var& x, const Tensor& ids, const TokenRows& rows) {
  using namespace detail;
  if (rows.empty()) return x;
  require_f32("replace_rows", x, "x");
  require_i32("replace_rows", ids, "ids");
  const int64_t C = x.size(-1), N = rows_of(x.value());
  if (ids.numel() != N) fail("replace_rows: ids {} must have one id per row of x {}", ids.shape().str(), x.shape().str());
  const auto m = slot_of("replace_rows", rows, C);
  Tensor slots = alloc({std::max<int64_t>(N, 1)}, DType::I32);
  int32_t* sl = slots.data<int32_t>();
  const int32_t* id = ids.data<int32_t>();
  for (int64_t n = 0; n < N; ++n) {
    auto it = m.find(id[n]);
    sl[n] = it == m.end() ? -1 : it->second;
  }
  Tensor out = alloc(x.shape());
  const float* xv = x.value().data<float>();
  const float* vv = rows.values.value().data<float>();
  float* o = out.data<float>();
  for (int64_t n = 0; n < N; ++n)
    std::memcpy(o + n * C, sl[n] < 0 ? xv + n * C : vv + static_cast<int64_t>(sl[n]) * C, C * sizeof(float));
  const Var values = rows.values;
  Var y = make_output(out, should_record(x, values));
  if (y.requires_grad()) {
    tape().record([x, values, y, slots, N, C] {
      if (!y.has_grad()) return;
      const float* dy = y.node()->grad.data<float>();
      const int32_t* sl = slots.data<int32_t>();
      bool acc = false;
      if (x.requires_grad()) {
        float* dx = x.grad_for_write(acc);
        for (int64_t n = 0; n < N; ++n) {
          float* d = dx + n * C;
          if (sl[n] >= 0) {
            if (!acc) std::fill(d, d + C, 0.f);
          } else if (acc) {
            for (int64_t j = 0; j < C; ++j) d[j] += dy[n * C + j];
          } else {
            std::memcpy(d, dy + n * C, C * sizeof(float));
          }
        }
      }
      if (values.requires_grad()) {
        float* dv = values.grad_for_write(acc);
        if (!acc) std::fill(dv, dv + values.numel(), 0.f);
        for (int64_t n = 0; n < N; ++n)
          if (sl[n] >= 0)
            for (int64_t j = 0; j < C; ++j) dv[static_cast<int64_t>(sl[n]) * C + j] += dy[n * C + j];
      }
    });
  }
  return y;
}

Var replace_columns(const Var& logits, const Var& h, const TokenRows& rows) {
  using namespace detail;
  if (rows.empty()) return logits;
  require_f32("replace_columns", logits, "logits");
  require_f32("replace_columns", h, "h");
  const int64_t V = logits.size(-1), C = h.size(-1), N = rows_of(h.value());
  if (rows_of(logits.value()) != N)
    fail("replace_columns: logits {} and h {} differ in rows", logits.shape().str(), h.shape().str());
  slot_of("replace_columns", rows, C);
  const int64_t K = rows.ids.numel();
  const int32_t* id = rows.ids.data<int32_t>();
  for (int64_t k = 0; k < K; ++k)
    if (id[k] < 0 || id[k] >= V) fail("replace_columns: token id {} is outside [0, {})", id[k], V);
  Tensor out = alloc(logits.shape());
  float* o = out.data<float>();
  std::memcpy(o, logits.value().data<float>(), static_cast<size_t>(N * V) * sizeof(float));
  const float* hv = h.value().data<float>();
  const float* vv = rows.values.value().data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) o[n * V + id[k]] = dot(hv + n * C, vv + k * C, C);
  const Var values = rows.values;
  const Tensor ids = rows.ids;
  Var y = make_output(out, should_record(logits, h, values));
  if (y.requires_grad()) {
    tape().record([logits, h, values, ids, y, N, C, V, K] {
      if (!y.has_grad()) return;
      const float* dy = y.node()->grad.data<float>();
      const int32_t* id = ids.data<int32_t>();
      bool acc = false;
      if (logits.requires_grad()) {
        float* dl = logits.grad_for_write(acc);
        if (acc)
          for (int64_t i = 0; i < N * V; ++i) dl[i] += dy[i];
        else
          std::memcpy(dl, dy, static_cast<size_t>(N * V) * sizeof(float));
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = 0; k < K; ++k) dl[n * V + id[k]] -= dy[n * V + id[k]];
      }
      const float* vv = values.value().data<float>();
      if (h.requires_grad()) {
        float* dh = h.grad_for_write(acc);
        if (!acc) std::fill(dh, dh + N * C, 0.f);
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = 0; k < K; ++k) {
            const float g = dy[n * V + id[k]];
            for (int64_t j = 0; j < C; ++j) dh[n * C + j] += g * vv[k * C + j];
          }
      }
      if (values.requires_grad()) {
        const float* hv = h.value().data<float>();
        float* dv = values.grad_for_write(acc);
        if (!acc) std::fill(dv, dv + K * C, 0.f);
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = 0; k < K; ++k) {
            const float g = dy[n * V + id[k]];
            for (int64_t j = 0; j < C; ++j) dv[k * C + j] += g * hv[n * C + j];
          }
      }
    });
  }
  return y;
}

}  // namespace baimo::ag
