// topk_distill_head_loss: forward-KL distillation from a sparse teacher: per counted row, only the k most
// likely next tokens of the teacher with their probabilities, and the probability of all the others as one
// bucket (a teacher cache on disk, train/teacher_cache.h). Fused like distill_head_loss (the chunk loop of
// head_chunks.h): the student's (rows, V) logits are never held whole.
// Inputs (N = rows of h): h (..., C) F32 Var, weight (V, C) F32 Var (the student's head; gets dW when it
//   requires grad), targets I32 (N) (rows whose target == ignore_index are not counted), and for the
//   count counted rows in row order, the teacher at the loss's temperature T:
//   topk_ids I32 (count, k): its top-k token ids, distinct, in [0, V);
//   topk_logprobs F32 (count, k): their log-probabilities lp_i = log softmax(z_t / T)_i, finite;
//   tail F32 (count): the probability of every other token, p_rest = 1 - sum_i exp(lp_i), in [0, 1].
// With u = z_s / T and q = softmax(u) over the full vocabulary, K the row's top-k and q_rest = sum of q off
// K, per counted row (the KL between the teacher and the student coarsened to k + 1 buckets):
//   T^2 * [ sum_{i in K} p_i (lp_i - log q_i) + p_rest (log p_rest - log q_rest) ]     (>= 0)
//   plus ce_weight * (-log softmax(z_s)[target]).
// With k = V (p_rest = 0) this is distill_head_loss's ForwardKl. Gradient w.r.t. the student logits:
// T (q - p~) + ce_weight (softmax(z_s) - onehot(target)), p~ = p on K and q (p_rest / q_rest) off K
// (the teacher's rest spread like the student's). Only Divergence::ForwardKl: reverse KL and JSD need
// the teacher's whole distribution (baimo::Error).
// -> (1): the mean over counted rows (none counted -> 0, zero gradient); `stats` as distill_head_loss's.
// Deterministic for a fixed thread count. Errors (baimo::Error) name the op, the row and the shapes.
#pragma once
#include <cstdint>

#include "baimo/autograd/distill_loss.h"
#include "baimo/autograd/var.h"

namespace baimo::ag {

Var topk_distill_head_loss(const Var& h, const Var& weight, const Tensor& topk_ids, const Tensor& topk_logprobs,
                           const Tensor& tail, const Tensor& targets, int32_t ignore_index,
                           const DistillLossOptions& opts, DistillLossStats* stats = nullptr);

}  // namespace baimo::ag
