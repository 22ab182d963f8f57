// The CPU backend's team product (the contract is kernels/team_matmul.h's): items of whole 16-row
// groups of output rows, each thread's own quantized copy of x per activation layout.
//   team_matmul_plan: fills p for the ISA level `isa` (<= best_isa(); tests pin levels).
//   team_matmul: plan, prepare and run in one call, for code inside a parallel region: every thread
//     of the innermost team calls it with the same arguments (outside a region the calling thread
//     does everything); items go out with `omp for schedule(dynamic) nowait`: there is NO barrier
//     on exit — synchronize before reading ys written by other threads.
#pragma once
#include <cstdint>
#include <span>

#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/kernels/team_matmul.h"

namespace baimo::cpu {

void team_matmul_check(std::span<const WeightMatrix* const> ws, TeamLayout layout);

void team_matmul_plan(TeamPlan& p, std::span<const WeightMatrix* const> ws, std::span<float* const> ys,
                      int64_t batch, TeamLayout layout, int64_t align, int threads, CpuIsa isa = best_isa());

void team_matmul(std::span<const WeightMatrix* const> ws, const float* x, int64_t batch, std::span<float* const> ys,
                 TeamLayout layout, int64_t align = 16, RowsEpilogue epilogue = {}, CpuIsa isa = best_isa());

}  // namespace baimo::cpu
