// Pruning a model's transformer blocks: every linear weight of every layer (q, k, v, o, gate, up,
// down; never the embedding, lm_head, norms or biases) gets a per-output-row mask (prune_mask.h).
//   Magnitude: score |W|; no calibration.
//   Wanda (Sun et al. 2023): score |W_ij| * ||X_j||_2, X = the linear's inputs over the calibration
//     tokens, layer by layer as the paper's code does: the norms of layer l come from one pass of the
//     calibration sequences through layer l with its dense weights (calib_forward.h), then its seven
//     matrices are pruned, then the sequences pass through the pruned layer to become layer l+1's inputs.
// The matrices are changed in place: `params` maps each parameter name of param_layout(cfg) to its
// f32 values (a model directory read whole). Errors (baimo::Error) name the matrix and its shape.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "baimo/compress/param_map.h"
#include "baimo/compress/prune_mask.h"
#include "baimo/model/config.h"

namespace baimo {

enum class PruneMethod { Magnitude, Wanda };
PruneMethod parse_prune_method(const std::string& s);  // "magnitude" | "wanda"

struct PrunedMatrix {
  std::string name;
  int64_t layer = 0;
  int64_t rows = 0, cols = 0;
  int64_t zeros = 0;  // zero weights after pruning
};

// baimo::Error naming the first matrix whose input dimension N:M cannot divide (nothing else to check).
void check_prunable(const ModelConfig& cfg, const PruneSpec& spec);

// calib: token sequences (Wanda only; ignored by magnitude). Returns one entry per pruned matrix in
// param_layout order.
std::vector<PrunedMatrix> prune_model(const ModelConfig& cfg, ParamMap& params,
                                      PruneMethod method, const PruneSpec& spec,
                                      const std::vector<std::vector<int32_t>>& calib = {});

}  // namespace baimo
