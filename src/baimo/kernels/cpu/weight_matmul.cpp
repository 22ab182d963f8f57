#include "baimo/kernels/cpu/weight_matmul.h"

#include <omp.h>

#include <algorithm>

#include "baimo/kernels/cpu/act_quant.h"
#include "baimo/kernels/cpu/float_kernels.h"
#include "baimo/kernels/cpu/packed_kernels.h"
#include "baimo/kernels/cpu/weight_pack.h"
#include "baimo/kernels/cpu/qdot_kernels.h"
#include "baimo/util/error.h"

namespace baimo::cpu {

namespace {

// Work items: about 8 per thread of contiguous weight rows (long sequential streams for the
// hardware prefetchers, few scheduling events), handed out dynamically so that on a shared machine
// a descheduled thread's share goes to the one still running. Within an item, tiles of 16 rows
// stay in cache while every activation tile (8 rows) passes over them.
constexpr int64_t kRowTile = 16;

template <class Kernel>
void run_chunks(int64_t rows, int64_t batch, const Kernel& kernel) {
  const int64_t threads = omp_get_max_threads();
  const int64_t per_item = std::max<int64_t>(kRowTile, (rows + threads * 8 - 1) / (threads * 8));
  const int64_t items = (rows + per_item - 1) / per_item;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t end = std::min(rows, (it + 1) * per_item);
    for (int64_t r0 = it * per_item; r0 < end; r0 += kRowTile) {
      const int64_t r1 = std::min(end, r0 + kRowTile);
      for (int64_t b0 = 0; b0 < batch; b0 += kMaxKernelRows)
        kernel(r0, r1, b0, static_cast<int>(std::min<int64_t>(kMaxKernelRows, batch - b0)));
    }
  }
}

// Packed weights: about 4 work items per thread of whole 16-row groups; within an item, runs of
// 8 groups (128 rows) stay in cache while every activation tile passes over them. Products of
// less than kSerialBytes of weights per activation tile (decode's k / v projections) run on the
// calling thread: waking the team would cost more than the work.
template <class Kernel>
void run_groups(int64_t groups, int64_t batch, size_t entry_bytes, int64_t blocks, const Kernel& kernel) {
  constexpr int64_t kGroupTile = 8;
  constexpr size_t kSerialBytes = 96 << 10;
  const size_t work = static_cast<size_t>(groups * blocks) * entry_bytes *
                      static_cast<size_t>((batch + kMaxKernelRows - 1) / kMaxKernelRows);
  const int64_t threads = omp_get_max_threads();
  const int64_t per_item = std::max<int64_t>(1, (groups + threads * 4 - 1) / (threads * 4));
  const int64_t items = (groups + per_item - 1) / per_item;
#pragma omp parallel for schedule(dynamic, 1) if (work >= kSerialBytes)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t end = std::min(groups, (it + 1) * per_item);
    for (int64_t g0 = it * per_item; g0 < end; g0 += kGroupTile) {
      const int64_t g1 = std::min(end, g0 + kGroupTile);
      for (int64_t b0 = 0; b0 < batch; b0 += kMaxKernelRows)
        kernel(g0, g1, b0, static_cast<int>(std::min<int64_t>(kMaxKernelRows, batch - b0)));
    }
  }
}

}  // namespace

void weight_matmul(const WeightMatrix& w, const float* x, int64_t batch, float* y, CpuIsa isa) {
  if (isa > best_isa()) isa = best_isa();
  if (w.rows <= 0 || w.cols <= 0 || batch <= 0) return;
  const auto* wp = static_cast<const uint8_t*>(w.data);
  const size_t row_bytes = w.row_bytes();
  switch (w.type) {
    case DType::F32:
    case DType::F16:
    case DType::BF16: {
      const FloatRowsKernel k = float_rows_kernel(w.type, isa);
      run_chunks(w.rows, batch, [&](int64_t r0, int64_t r1, int64_t b0, int nb) {
        k(wp, row_bytes, r0, r1, x, w.cols, b0, nb, y, w.rows);
      });
      return;
    }
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q8_0_S24: {
      if (w.cols % 32 != 0)
        fail("weight_matmul: {} weight has {} columns, not a multiple of the block size 32",
             dtype_info(w.type).name, w.cols);
      // Reused across calls (no allocation once warm). Worker threads must see the caller's
      // instance: a lambda names a thread_local directly instead of capturing it, so bind a reference.
      static thread_local ActQ8 act_buffer;
      ActQ8& act = act_buffer;
      const bool q4 = w.type == DType::Q4_0;
      if (w.packed) {
        act.quantize(x, batch, w.cols, ActLayout::Plain);
        const PackedKernel k = packed_kernel(w.type, isa);
        const auto* pp = static_cast<const uint8_t*>(w.packed);
        run_groups((w.rows + kPackRows - 1) / kPackRows, batch, packed_entry_bytes(w.type), w.cols / 32,
                   [&](int64_t g0, int64_t g1, int64_t b0, int nb) {
          k(pp, g0, g1, act, b0, nb, y, w.rows, w.rows);
        });
        return;
      }
      if (w.type == DType::Q8_0_S24) fail("weight_matmul: a Q8_0_S24 matrix runs packed only (weight_pack.h)");
      act.quantize(x, batch, w.cols, act_layout_for(q4, isa));
      const QRowsKernel k = q4 ? q4_0_rows_kernel(isa) : q8_0_rows_kernel(isa);
      run_chunks(w.rows, batch, [&](int64_t r0, int64_t r1, int64_t b0, int nb) {
        k(wp, row_bytes, r0, r1, act, b0, nb, y, w.rows);
      });
      return;
    }
    default:
      fail("weight_matmul: weight type {} is not supported (F32, F16, BF16, Q8_0, Q4_0, packed Q8_0_S24)",
           dtype_info(w.type).name);
  }
}

}  // namespace baimo::cpu

namespace baimo::cpu {

void weight_matmul_multi(std::span<const WeightMatrix* const> ws, const float* x, int64_t batch,
                         std::span<float* const> ys, CpuIsa isa) {
  if (ws.size() != ys.size()) fail("weight_matmul_multi: {} matrices but {} outputs", ws.size(), ys.size());
  if (isa > best_isa()) isa = best_isa();
  bool fused = !ws.empty() && batch > 0;
  for (const WeightMatrix* w : ws)
    fused = fused && w->packed && w->type == ws[0]->type && w->cols == ws[0]->cols && w->rows > 0 &&
            packable(*w);
  if (!fused) {
    for (size_t i = 0; i < ws.size(); ++i) weight_matmul(*ws[i], x, batch, ys[i], isa);
    return;
  }
  constexpr size_t kMax = 8;
  if (ws.size() > kMax) fail("weight_matmul_multi: at most {} matrices, got {}", kMax, ws.size());
  // Global group index space: matrix i owns groups [first[i], first[i + 1]).
  int64_t first[kMax + 1] = {0};
  for (size_t i = 0; i < ws.size(); ++i) first[i + 1] = first[i] + (ws[i]->rows + kPackRows - 1) / kPackRows;
  static thread_local ActQ8 act_buffer;
  ActQ8& act = act_buffer;
  act.quantize(x, batch, ws[0]->cols, ActLayout::Plain);
  const PackedKernel k = packed_kernel(ws[0]->type, isa);
  const size_t n = ws.size();
  run_groups(first[n], batch, packed_entry_bytes(ws[0]->type), ws[0]->cols / 32,
             [&](int64_t g0, int64_t g1, int64_t b0, int nb) {
    for (size_t i = 0; i < n; ++i) {
      const int64_t a = std::max(g0, first[i]), b = std::min(g1, first[i + 1]);
      if (a >= b) continue;
      const WeightMatrix& w = *ws[i];
      k(static_cast<const uint8_t*>(w.packed), a - first[i], b - first[i], act, b0, nb, ys[i], w.rows, w.rows);
    }
  });
}

}  // namespace baimo::cpu
