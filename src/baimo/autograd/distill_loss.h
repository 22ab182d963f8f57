// distill_head_loss: a knowledge-distillation loss between a student's LM head and a teacher's, fused
// like lm_head_loss (op_lm_head_loss.cpp): the (rows, V) logits of either model are never held whole.
// Inputs (N = rows of h):
//   h (..., C) F32 Var: the student's final hidden states; weight (V, C) F32 Var: the student's head
//   (gets dW when it requires grad); teacher_h (..., Ct) F32 Tensor (no gradient): the teacher's final
//   hidden states for the same tokens; teacher_w (V, Ct): the teacher's head in any type
//   linear_frozen takes (F32 / F16 / BF16 / Q8_0 / Q4_0, rows or packed-only); targets I32 (N): the
//   next tokens, rows whose target == ignore_index are not counted (prompt tokens, padding).
// With u = z_s / T, w = z_t / T (z = h W^T), q = softmax(u) (student), p = softmax(w) (teacher), per
// counted row:
//   ForwardKl: T^2 * KL(p || q)      (Hinton et al. 2015: the T^2 keeps gradient sizes across T)
//   ReverseKl: T^2 * KL(q || p)
//   Jsd:       beta * KL(p || m) + (1 - beta) * KL(q || m),  m = beta * p + (1 - beta) * q
//              (TRL GKDTrainer.generalized_jsd_loss exactly: temperature on both logits, no T^2;
//              beta = 0 is KL(p || q), beta = 1 is KL(q || p), as TRL special-cases them)
//   plus ce_weight * (-log softmax(z_s)[target]) (the plain next-token loss, at temperature 1).
// -> (1): the mean over counted rows (all rows ignored -> 0, zero gradient). Gradient w.r.t. the
// student logits, per row (scaled by the upstream gradient / count):
//   ForwardKl: T (q - p); ReverseKl: T q (g - sum q g), g = log q - log p;
//   Jsd: q (g - sum q g) / T, g = (1 - beta) (log q - log m); CE: softmax(z_s) - onehot(target).
// Chunks of `chunk_rows` counted rows (0: about 2^20 / V) hold their (rows, V) student and teacher
// logits; backward recomputes them (two products again) and pushes the chunk's gradient to h and W.
// `stats` (optional) receives the means of the divergence and of the cross-entropy separately.
// Deterministic for a fixed thread count. Errors (baimo::Error) name the op and the shapes.
#pragma once
#include <cstdint>

#include "baimo/autograd/var.h"
#include "baimo/kernels/weight_matrix.h"

namespace baimo::ag {

enum class Divergence { ForwardKl, ReverseKl, Jsd };

struct DistillLossOptions {
  Divergence divergence = Divergence::ForwardKl;
  float temperature = 1.0f;
  float beta = 0.5f;       // Jsd only, in [0, 1]
  float ce_weight = 0.0f;  // weight of the student's next-token cross-entropy
  int64_t chunk_rows = 0;  // 0 = automatic
};

struct DistillLossStats {
  float divergence = 0, cross_entropy = 0;  // means over the counted rows
  int64_t count = 0;
};

Var distill_head_loss(const Var& h, const Var& weight, const Tensor& teacher_h, const WeightMatrix& teacher_w,
                      const Tensor& targets, int32_t ignore_index, const DistillLossOptions& opts,
                      DistillLossStats* stats = nullptr);

}  // namespace baimo::ag
