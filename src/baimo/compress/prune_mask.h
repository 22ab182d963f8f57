// Pruning masks of one weight matrix W (rows = out features, cols = in features, row-major, as
// torch.nn.Linear stores it), chosen per output row (Wanda's comparison group, Sun et al. 2023):
//   score_ij = |W_ij| * s_j        s = the per-input-feature scale: all ones (magnitude pruning) or
//                                   ||X_j||_2, the norm of input feature j over calibration tokens (Wanda)
//   unstructured, sparsity p:  each row zeroes its k = floor(cols * p) lowest-scoring weights;
//   N:M:                       each group of M consecutive weights of a row (cols j = gM .. gM+M-1)
//                              keeps its N highest-scoring weights and zeroes the M - N others.
// Ties are broken deterministically: of equal scores the lower column index is pruned first (a
// stable ascending sort, as Wanda's torch.sort(stable=True)). Scores are computed in f32 as
// |W_ij| * s_j (one rounding), so a reference computes the same numbers.
// Contract: sparsity in (0, 1) or 0 < N < M; cols divisible by M for N:M; s has cols entries (or is
// empty for magnitude); errors are baimo::Error naming `name` and the shape. Returns the number of
// weights set to zero by the mask (weights already zero and kept are not counted).
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace baimo {

struct PruneSpec {
  double sparsity = 0;  // unstructured: the fraction of each row to zero, in (0, 1)
  int n = 0, m = 0;     // N:M when m > 0: keep n of every m consecutive input weights
  bool n_m() const { return m > 0; }
  std::string describe() const;  // "50%" or "2:4"
};

// "N:M" (e.g. "2:4") -> spec; baimo::Error for anything else or N >= M, N < 1.
PruneSpec parse_prune_pattern(const std::string& text);
// A sparsity outside (0, 1) -> baimo::Error.
PruneSpec unstructured_prune_spec(double sparsity);

// Zeroes the pruned weights of w (rows, cols) in place; scale: (cols) or empty (all ones).
int64_t prune_rows(std::span<float> w, int64_t rows, int64_t cols, std::span<const float> scale,
                   const PruneSpec& spec, const std::string& name);

}  // namespace baimo
