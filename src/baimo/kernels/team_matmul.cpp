#include "baimo/kernels/team_matmul.h"

#include "baimo/kernels/backend.h"

namespace baimo {

void TeamMatmul::plan(std::span<const WeightMatrix* const> ws, std::span<float* const> ys, int64_t batch,
                      TeamLayout layout, int64_t align, int threads) {
  backend().team_matmul_plan(p_, ws, ys, batch, layout, align, threads);
}

void team_matmul_check(std::span<const WeightMatrix* const> ws, TeamLayout layout) {
  backend().team_matmul_check(ws, layout);
}

}  // namespace baimo
