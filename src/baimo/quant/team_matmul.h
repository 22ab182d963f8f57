// Weight products for code that is already inside an OpenMP parallel region: the engine's decode
// step runs a whole forward pass in one region (no thread wake-up per product) and uses these.
//   ys[i] (batch, ws[i]->rows) = x (batch, cols) ws[i]^T  — the same kernels and the same results,
//   bit for bit, as weight_matmul on each matrix (every output is computed by one kernel call whose
//   result does not depend on how the rows are shared out).
// Contract:
// - Every thread of the innermost team calls team_matmul with the same arguments (outside a
//   parallel region the calling thread does everything). x must be complete before the call.
// - Each thread quantizes x itself into per-thread buffers (quantized weights), so no barrier is
//   needed on entry; output rows go out as work items with `omp for schedule(dynamic) nowait`: there
//   is NO barrier on exit — synchronize before reading ys written by other threads.
// - Items are ranges of output rows [r0, r1) whose bounds are multiples of `align` (and of 16, the
//   packed group size), or a matrix's last row. After an item's rows are written for every batch
//   row, the thread that computed it calls epilogue(i, r0, r1):
//     Stacked: the matrices are separate products; an item lies in one matrix i.
//     Paired : every matrix has the same rows; an item covers [r0, r1) of all of them, i = -1.
// - Supports what weight_matmul supports (F32 / F16 / BF16, Q8_0 / Q4_0 packed or not); cols equal
//   for all matrices; at most 8 matrices; batch >= 1. baimo::Error otherwise (thrown before any work).
// - No allocation once warm (per thread).
#pragma once
#include <cstdint>
#include <span>
#include <type_traits>

#include "baimo/quant/cpu_isa.h"
#include "baimo/quant/weight_matmul.h"

namespace baimo::quant {

// A non-owning reference to a callable void(int matrix, int64_t r0, int64_t r1).
class RowsEpilogue {
 public:
  RowsEpilogue() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, RowsEpilogue>>>
  RowsEpilogue(F& f) : obj_(&f), call_([](void* o, int i, int64_t a, int64_t b) { (*static_cast<F*>(o))(i, a, b); }) {}
  void operator()(int i, int64_t r0, int64_t r1) const {
    if (call_) call_(obj_, i, r0, r1);
  }

 private:
  void* obj_ = nullptr;
  void (*call_)(void*, int, int64_t, int64_t) = nullptr;
};

enum class TeamLayout { Stacked, Paired };

// The checks of team_matmul on the matrices alone (types, columns, paired rows). An exception
// must not leave a parallel region: check once outside it (the engine does at construction).
void team_matmul_check(std::span<const WeightMatrix* const> ws, TeamLayout layout);

void team_matmul(std::span<const WeightMatrix* const> ws, const float* x, int64_t batch, std::span<float* const> ys,
                 TeamLayout layout, int64_t align = 16, RowsEpilogue epilogue = {}, CpuIsa isa = best_isa());

// The same product as items a caller schedules itself (team_matmul = plan, prepare, then run the
// items with `omp for schedule(dynamic) nowait`): plan once outside the team (it throws on bad
// arguments; threads = the team size, for the item count), then every thread that runs items
// calls prepare(x) first (its own quantized copy of x; x complete), then run(item, x, epilogue)
// for the items it claims. Items are [0, items()); each must run exactly once.
class TeamMatmul {
 public:
  void plan(std::span<const WeightMatrix* const> ws, std::span<float* const> ys, int64_t batch, TeamLayout layout,
            int64_t align, int threads, CpuIsa isa = best_isa());
  int64_t items() const { return first_[ranges_]; }
  void prepare(const float* x) const;
  void run(int64_t item, const float* x, RowsEpilogue epilogue = {}) const;

 private:
  static constexpr size_t kMax = 8;
  const WeightMatrix* ws_[kMax] = {};
  float* ys_[kMax] = {};
  size_t n_ = 0, ranges_ = 0;
  int64_t batch_ = 0, per_item_ = 1;
  int64_t first_[kMax + 1] = {};
  TeamLayout layout_ = TeamLayout::Stacked;
  CpuIsa isa_ = CpuIsa::Scalar;
};

}  // namespace baimo::quant
