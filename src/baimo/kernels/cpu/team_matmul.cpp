#include "baimo/kernels/cpu/team_matmul.h"

#include <omp.h>

#include <algorithm>
#include <numeric>

#include "baimo/kernels/cpu/act_quant.h"
#include "baimo/kernels/cpu/float_kernels.h"
#include "baimo/kernels/cpu/packed_kernels.h"
#include "baimo/kernels/cpu/qdot_kernels.h"
#include "baimo/kernels/cpu/weight_pack.h"
#include "baimo/util/error.h"

namespace baimo::cpu {

namespace {

constexpr size_t kMaxMatrices = TeamPlan::kMax;
// Weight bytes of one work item (times the activation tiles it passes): small enough that the
// thread finishing last idles little, large enough that each thread streams long runs (hardware
// prefetch) and the shared counter (a cross-core atomic per item) is touched rarely; 4 to
// kMaxItemsPerThread items per thread. (256 KiB items measured 1-3% slower at batch 1 on the
// 0.5B shape than the op-by-op engine's 4 items per thread and product, on a quiet machine.)
constexpr size_t kItemBytes = 1 << 20;
constexpr int64_t kMaxItemsPerThread = 16;
constexpr int64_t kRowTile = 16;   // float / ggml-row kernels: rows per call
constexpr int64_t kGroupTile = 8;  // packed kernels: 16-row groups per call

bool quantized(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q8_0_S24; }

// Index of an activation layout in the per-thread buffers.
int layout_slot(ActLayout l) { return l == ActLayout::Plain ? 0 : l == ActLayout::PairsQ8 ? 1 : 2; }
ActLayout act_layout_of(const WeightMatrix& w, CpuIsa isa) {
  return w.packed ? ActLayout::Plain : act_layout_for(w.type == DType::Q4_0, isa);
}

// Rows [r0, r1) of y = x w^T for every batch row.
void rows_product(const WeightMatrix& w, const float* x, int64_t batch, float* y, int64_t r0, int64_t r1,
                  const ActQ8* acts, CpuIsa isa) {
  const auto* wp = static_cast<const uint8_t*>(w.data);
  const size_t row_bytes = w.row_bytes();
  if (!quantized(w.type)) {
    const FloatRowsKernel k = float_rows_kernel(w.type, isa);
    for (int64_t a = r0; a < r1; a += kRowTile)
      for (int64_t b0 = 0; b0 < batch; b0 += kMaxKernelRows)
        k(wp, row_bytes, a, std::min(r1, a + kRowTile), x, w.cols, b0,
          static_cast<int>(std::min<int64_t>(kMaxKernelRows, batch - b0)), y, w.rows);
    return;
  }
  const bool q4 = w.type == DType::Q4_0;
  const ActQ8& act = acts[layout_slot(act_layout_of(w, isa))];
  if (w.packed) {
    const PackedKernel k = packed_kernel(w.type, isa);
    const auto* pp = static_cast<const uint8_t*>(w.packed);
    const int64_t g0 = r0 / kPackRows, g1 = (r1 + kPackRows - 1) / kPackRows;
    for (int64_t g = g0; g < g1; g += kGroupTile)
      for (int64_t b0 = 0; b0 < batch; b0 += kMaxKernelRows)
        k(pp, g, std::min(g1, g + kGroupTile), act, b0, static_cast<int>(std::min<int64_t>(kMaxKernelRows, batch - b0)),
          y, w.rows, w.rows);
    return;
  }
  const QRowsKernel k = q4 ? q4_0_rows_kernel(isa) : q8_0_rows_kernel(isa);
  for (int64_t a = r0; a < r1; a += kRowTile)
    for (int64_t b0 = 0; b0 < batch; b0 += kMaxKernelRows)
      k(wp, row_bytes, a, std::min(r1, a + kRowTile), act, b0,
        static_cast<int>(std::min<int64_t>(kMaxKernelRows, batch - b0)), y, w.rows);
}

}  // namespace

void team_matmul_check(std::span<const WeightMatrix* const> ws, TeamLayout layout) {
  if (ws.empty() || ws.size() > kMaxMatrices) fail("team_matmul: {} matrices (1 to {})", ws.size(), kMaxMatrices);
  for (const WeightMatrix* w : ws) {
    const DType t = w->type;
    if (t != DType::F32 && t != DType::F16 && t != DType::BF16 && !quantized(t))
      fail("team_matmul: weight type {} is not supported (F32, F16, BF16, Q8_0, Q4_0, packed Q8_0_S24)",
           dtype_info(t).name);
    if (t == DType::Q8_0_S24 && !w->packed) fail("team_matmul: a Q8_0_S24 matrix runs packed only");
    if (w->rows <= 0 || w->cols <= 0) fail("team_matmul: empty {}x{} matrix", w->rows, w->cols);
    if (w->cols != ws[0]->cols) fail("team_matmul: matrices with {} and {} columns", ws[0]->cols, w->cols);
    if (quantized(t) && w->cols % 32 != 0)
      fail("team_matmul: {} weight has {} columns, not a multiple of the block size 32", dtype_info(t).name, w->cols);
    if (layout == TeamLayout::Paired && w->rows != ws[0]->rows)
      fail("team_matmul: paired matrices with {} and {} rows", ws[0]->rows, w->rows);
  }
}

namespace {
thread_local ActQ8 t_acts[3];  // this thread's quantized x, one per activation layout

void plan_prepare(const TeamPlan& p, const float* x) {
  const CpuIsa isa = static_cast<CpuIsa>(p.variant);
  bool done[3] = {false, false, false};
  for (size_t i = 0; i < p.n; ++i) {
    const WeightMatrix& w = *p.ws[i];
    if (!quantized(w.type)) continue;
    const ActLayout l = act_layout_of(w, isa);
    if (!done[layout_slot(l)]) t_acts[layout_slot(l)].quantize(x, p.batch, w.cols, l);
    done[layout_slot(l)] = true;
  }
}

void plan_run(const TeamPlan& p, int64_t item, const float* x, RowsEpilogue epilogue) {
  const CpuIsa isa = static_cast<CpuIsa>(p.variant);
  size_t i = 0;
  while (item >= p.first[i + 1]) ++i;
  const int64_t r0 = (item - p.first[i]) * p.per_item, r1 = std::min(p.ws[i]->rows, r0 + p.per_item);
  if (p.layout == TeamLayout::Paired) {
    for (size_t j = 0; j < p.n; ++j) rows_product(*p.ws[j], x, p.batch, p.ys[j], r0, r1, t_acts, isa);
    epilogue(-1, r0, r1);
  } else {
    rows_product(*p.ws[i], x, p.batch, p.ys[i], r0, r1, t_acts, isa);
    epilogue(static_cast<int>(i), r0, r1);
  }
}
}  // namespace

void team_matmul_plan(TeamPlan& p, std::span<const WeightMatrix* const> ws, std::span<float* const> ys,
                      int64_t batch, TeamLayout layout, int64_t align, int threads, CpuIsa isa) {
  cpu::team_matmul_check(ws, layout);
  if (ws.size() != ys.size()) fail("team_matmul: {} matrices but {} outputs", ws.size(), ys.size());
  if (batch < 1) fail("team_matmul: batch {} (at least 1)", batch);
  p.n = ws.size();
  std::copy(ws.begin(), ws.end(), p.ws);
  std::copy(ys.begin(), ys.end(), p.ys);
  p.batch = batch;
  p.layout = layout;
  p.variant = static_cast<int>(std::min(isa, best_isa()));
  p.prepare = plan_prepare;
  p.run = plan_run;
  // Items: rows per item a multiple of step = lcm(align, 16), sized to about kItemBytes of weights
  // per activation tile, 4 to kMaxItemsPerThread items per thread where the rows allow.
  const int64_t step = std::lcm(std::max<int64_t>(align, 1), kPackRows);
  const int64_t tiles = (batch + kMaxKernelRows - 1) / kMaxKernelRows;
  size_t bytes = 0;
  int64_t rows = 0;
  for (const WeightMatrix* w : ws) {
    bytes += w->bytes();
    rows += w->rows;
  }
  const int64_t span_rows = layout == TeamLayout::Paired ? ws[0]->rows : rows;
  const int64_t team = std::max(threads, 1);
  const int64_t wanted = std::clamp<int64_t>(static_cast<int64_t>(bytes * tiles / kItemBytes), team * 4,
                                             team * kMaxItemsPerThread);
  p.per_item = std::max<int64_t>(step, (span_rows + wanted - 1) / wanted / step * step);
  // First item of each matrix (Stacked) or of the single row range (Paired).
  p.ranges = layout == TeamLayout::Paired ? 1 : p.n;
  p.first[0] = 0;
  for (size_t i = 0; i < p.ranges; ++i) p.first[i + 1] = p.first[i] + (ws[i]->rows + p.per_item - 1) / p.per_item;
}

void team_matmul(std::span<const WeightMatrix* const> ws, const float* x, int64_t batch, std::span<float* const> ys,
                 TeamLayout layout, int64_t align, RowsEpilogue epilogue, CpuIsa isa) {
  TeamPlan p;
  team_matmul_plan(p, ws, ys, batch, layout, align, omp_get_num_threads(), isa);
  plan_prepare(p, x);
  const int64_t items = p.first[p.ranges];
#pragma omp for schedule(dynamic, 1) nowait
  for (int64_t it = 0; it < items; ++it) plan_run(p, it, x, epilogue);
}

}  // namespace baimo::cpu
