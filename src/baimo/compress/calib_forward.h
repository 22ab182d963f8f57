// CalibrationForward: calibration sequences run through a model one layer at a time with the
// inference engine's own step functions (infer/layer_step.h: the same norms, products, RoPE, KV-cache
// attention and SwiGLU as Engine::forward), keeping every token's residual stream x between layers so
// a caller can change layer l's weights before the sequences move on (Wanda's sequential pruning:
// layer l+1 sees the outputs of the already pruned layer l).
//   input_squares(l): runs layer l on every sequence with its current weights, x unchanged, and sums
//     the squares of each linear's input over all calibration tokens (double):
//       attn_in (C)  = rmsnorm(x, input_layernorm)   -- the input of q, k, v
//       o_in (H*D)   = the attention output          -- the input of o
//       mlp_in (C)   = rmsnorm(x, post_attention_layernorm) -- the input of gate, up
//       down_in (F)  = silu(gate) * up               -- the input of down
//   advance(l): x = layer l(x) with its current weights (call layers in order 0, 1, ...).
// The weights are read through `w` at each call (f32 matrices; their buffers may change between calls).
// Contract: every sequence non-empty and at most max_position_embeddings tokens, ids < vocab_size
// (baimo::Error otherwise). Deterministic for a given thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "baimo/compress/param_map.h"
#include "baimo/infer/model_weights.h"
#include "baimo/kernels/rope_table.h"
#include "baimo/model/kv_cache.h"

namespace baimo {

// The engine's view of a model held as f32 vectors by parameter name (param_layout names): matrices
// and vectors point into the map's buffers (which must outlive the result; their values may change).
ModelWeights f32_weights_over(const ModelConfig& cfg, const ParamMap& params);

struct LayerInputSquares {
  std::vector<double> attn_in, o_in, mlp_in, down_in;
  int64_t tokens = 0;
};

class CalibrationForward {
 public:
  CalibrationForward(const ModelWeights& w, std::vector<std::vector<int32_t>> seqs);

  LayerInputSquares input_squares(int64_t layer);
  void advance(int64_t layer);
  int64_t tokens() const { return tokens_; }
  // The residual streams (tokens, C), sequences one after another (after the layers advanced so far).
  const std::vector<float>& residual() const { return xs_; }

 private:
  // Layer `layer` on sequence i: sums into sq when given; writes x back when `update`.
  void run_layer(int64_t layer, size_t i, LayerInputSquares* sq, bool update);

  const ModelWeights& w_;
  std::vector<std::vector<int32_t>> seqs_;
  std::vector<size_t> offset_;  // first token row of each sequence in x_
  int64_t tokens_ = 0, max_len_ = 0;
  std::vector<float> x_;        // (tokens, C) residual streams
  KvCache cache_;
  RopeTable rope_;
  std::vector<int32_t> pos_, slot_;
  std::vector<float> xs_, h_, q_, k_, v_, att_, tmp_, gate_, up_, scratch_;
};

}  // namespace baimo
