// TeamMatmul: the Backend's weight product (kernels/backend.h) for code that is already inside an
// OpenMP parallel region: the engine's decode step runs a whole forward pass in one region (no
// thread wake-up per product) and uses these.
//   ys[i] (batch, ws[i]->rows) = x (batch, cols) ws[i]^T  — the same kernels and the same results,
//   bit for bit, as weight_matmul on each matrix (every output is computed by one kernel call whose
//   result does not depend on how the rows are shared out).
// Contract:
// - plan() once outside the team (it throws on bad arguments; threads = the team size, for the item
//   count): the active backend (backend().team_matmul_plan) splits the product into items [0, items())
//   and chooses its kernels. Then every thread that runs items calls prepare(x) first (its own
//   quantized copy of x; x complete; no barrier needed), then run(item, x, epilogue) for the items it
//   claims. Each item runs exactly once. prepare/run call the kernels the plan holds (plain function
//   pointers: no virtual call per item).
// - Items are ranges of output rows [r0, r1) whose bounds are multiples of `align` (and of the
//   backend's row group, 16 on the CPU), or a matrix's last row. After an item's rows are written for
//   every batch row, the thread that computed it calls epilogue(i, r0, r1):
//     Stacked: the matrices are separate products; an item lies in one matrix i.
//     Paired : every matrix has the same rows; an item covers [r0, r1) of all of them, i = -1.
// - Supports what weight_matmul supports (F32 / F16 / BF16, Q8_0 / Q4_0 packed or not, Q8_0_S24
//   packed); cols equal
//   for all matrices; at most 8 matrices; batch >= 1. baimo::Error otherwise (thrown by plan).
// - team_matmul_check: plan's checks on the matrices alone. An exception must not leave a parallel
//   region: check once outside it (the engine does at construction).
// - No allocation once warm (per thread).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "baimo/kernels/weight_matrix.h"

namespace baimo {

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

// What a backend's team_matmul_plan fills in: the product, its items and the kernels that run them.
struct TeamPlan {
  static constexpr size_t kMax = 8;
  const WeightMatrix* ws[kMax] = {};
  float* ys[kMax] = {};
  size_t n = 0, ranges = 0;        // matrices; item ranges (n when Stacked, 1 when Paired)
  int64_t batch = 0, per_item = 1;  // rows of x; output rows per item
  int64_t first[kMax + 1] = {};     // first item of each range; first[ranges] = items
  TeamLayout layout = TeamLayout::Stacked;
  int variant = 0;  // the backend's own choice (cpu: the ISA level)
  void (*prepare)(const TeamPlan& p, const float* x) = nullptr;
  void (*run)(const TeamPlan& p, int64_t item, const float* x, RowsEpilogue epilogue) = nullptr;
};

class TeamMatmul {
 public:
  void plan(std::span<const WeightMatrix* const> ws, std::span<float* const> ys, int64_t batch, TeamLayout layout,
            int64_t align, int threads);
  int64_t items() const { return p_.first[p_.ranges]; }
  void prepare(const float* x) const { p_.prepare(p_, x); }
  void run(int64_t item, const float* x, RowsEpilogue epilogue = {}) const { p_.run(p_, item, x, epilogue); }
  const TeamPlan& state() const { return p_; }

 private:
  TeamPlan p_;
};

void team_matmul_check(std::span<const WeightMatrix* const> ws, TeamLayout layout);

}  // namespace baimo
