// topk_distill_head_loss: forward-KL distillation from a sparse teacher: per counted row, only the k most
// likely next tokens of the teacher and their log-probabilities (a teacher cache on disk,
// train/teacher_cache.h). Fused like distill_head_loss (the chunk loop of head_chunks.h): the student's
// (rows, V) logits are never held whole.
// Inputs (N = rows of h): h (..., C) F32 Var, weight (V, C) F32 Var (the student's head; gets dW when it
//   requires grad), targets I32 (N) (rows whose target == ignore_index are not counted), and for the
//   count counted rows in row order:
//   topk_ids I32 (count, k): the teacher's top-k token ids, distinct, in [0, V);
//   topk_logprobs F32 (count, k): their log-probabilities log softmax(z_t) at temperature 1, finite.
// With u = z_s / T, q = softmax(u) over the full vocabulary, and the teacher renormalised over its k tokens
// at temperature T, p_i = exp(lp_i / T) / sum_j exp(lp_j / T) (exactly softmax(z_t / T) restricted to
// those k tokens and renormalised, for any T: the inputs do not depend on T), per counted row:
//   T^2 * sum_{i in top-k} p_i (log p_i - log q_i)       (>= 0: KL(p || q|top-k) - log q(top-k))
//   plus ce_weight * (-log softmax(z_s)[target]).
// With k = V this is distill_head_loss's ForwardKl. Gradient w.r.t. the student logits, per row:
// T (q - p) (p = 0 off the top-k) + ce_weight (softmax(z_s) - onehot(target)).
// Only Divergence::ForwardKl: reverse KL and JSD need the teacher's whole distribution (baimo::Error).
// -> (1): the mean over counted rows (none counted -> 0, zero gradient); `stats` as distill_head_loss's.
// Deterministic for a fixed thread count. Errors (baimo::Error) name the op and the shapes.
#pragma once
#include <cstdint>

#include "baimo/autograd/distill_loss.h"
#include "baimo/autograd/var.h"

namespace baimo::ag {

Var topk_distill_head_loss(const Var& h, const Var& weight, const Tensor& topk_ids, const Tensor& topk_logprobs,
                           const Tensor& targets, int32_t ignore_index, const DistillLossOptions& opts,
                           DistillLossStats* stats = nullptr);

}  // namespace baimo::ag
