// Distillation objectives: a student learns the teacher's full next-token distribution
// (autograd/distill_loss.h: forward KL with temperature, reverse KL, generalised JSD, plus a weight on
// the student's own next-token cross-entropy), averaged over the counted target positions.
// - Teacher: a Transformer (any storage: f32, or a frozen F16 / BF16 / Q8_0 / Q4_0 base from a GGUF,
//   convert/training_base.h) run without a tape on the same ids, positions and segments; only its
//   final hidden states (rows, Ct) are kept, its head products happen chunk by chunk inside the loss.
//   It is never trained and holds no state.
// - Two data paths, one loss: SftDistillObjective (chat data: SftObjective's packed rows and answers-only
//   mask, its checkpoints, state and resume) and LmDistillObjective (token shards: LmObjective's windows,
//   every next token counted). Only batch_loss changes; evaluate() stays the student's cross-entropy on
//   held-out data (so val_loss / val_ppl are comparable with a student trained without a teacher).
// - Metrics per micro-batch (means over its counted tokens): "distill" (the divergence) and "ce" (the
//   student's cross-entropy), whatever ce_weight is.
// - trajectory(): the base's plus {"distill": {loss, temperature, beta, ce_weight, teacher}}: a resume
//   must keep them.
// - Teacher and student must share a vocabulary (checked here: the head sizes) and a tokenizer
//   (checked by the command: cli/distill.cpp).
// - On-policy (GKD, Agarwal et al. 2024; chat data only): a share `on_policy` of the micro-batches,
//   chosen by a hash of the seed and the micro-batch's row position (so a resume draws the same, and
//   every rank makes the same choice), replace
//   each conversation's answer by the student's own sample for its prompt (the tokens before its
//   first answer token; sampled when the micro-batch is drawn, from the live weights, with `rollout`'s
//   temperature and max_new_tokens, cut to fit the row, seeded by the row position). The teacher then
//   scores those tokens; metric "on_policy" = 1 for such a micro-batch, else 0 (only when on_policy > 0).
//   The rest of each multi-turn conversation is not kept: the prompt ends at its first answer.
// - Teacher cache (chat data only, forward KL only, not on-policy): SftDistillObjective built with
//   DistillOptions::cache and no teacher never runs a teacher: each micro-batch's counted positions take
//   their records from the cache (train/teacher_cache.h: example SftBatch::examples[r][segment], its j-th
//   counted position; a batch whose positions do not line up with the cache is a baimo::Error) and the
//   loss is autograd/topk_distill_loss.h's (the teacher's top-k and one bucket for the rest; the cache's
//   temperature must be the loss's). trajectory()'s
//   "distill" then has "teacher_top_k" (a resume must keep it); flops_per_token() has no teacher forward.
#pragma once
#include <memory>
#include <string>

#include "baimo/autograd/distill_loss.h"
#include "baimo/infer/rollout.h"
#include "baimo/model/transformer.h"
#include "baimo/train/objectives/lm.h"
#include "baimo/train/objectives/sft.h"
#include "baimo/train/teacher_cache.h"

namespace baimo::train {

struct DistillOptions {
  ag::DistillLossOptions loss;
  std::string teacher;  // its path, recorded in the trajectory
  double on_policy = 0;                          // share of on-policy micro-batches, [0, 1]
  RolloutOptions rollout;                        // their sampling (the seed is set per micro-batch)
  std::shared_ptr<const Tokenizer> tokenizer;    // the student's, for the samples' stop tokens
  std::shared_ptr<const TeacherCache> cache;     // the teacher's top-k instead of the teacher (chat data)
};

// "forward_kl" | "reverse_kl" | "jsd" (baimo::Error naming `where` otherwise), and back.
ag::Divergence parse_divergence(const std::string& name, const std::string& where);
const char* divergence_name(ag::Divergence d);

// The teacher's head as a frozen matrix (its f32 lm_head / tied embedding, or its frozen base's).
WeightMatrix teacher_head(const Transformer& teacher);

// The loss of one batch: ids, targets I32 (B, T), positions / segments as Transformer::hidden takes them.
MicroLoss distill_batch_loss(const Transformer& student, const Transformer& teacher, const Tensor& ids,
                             const Tensor& targets, const Tensor* positions, const Tensor* segments,
                             const DistillOptions& opts);
// The same from a teacher cache: the batch's counted positions' records (see above), the top-k loss.
MicroLoss cached_distill_batch_loss(const Transformer& student, const SftBatch& batch, const TeacherCache& cache,
                                    const DistillOptions& opts);

class SftDistillObjective : public SftObjective {
 public:
  SftDistillObjective(Transformer& student, const Transformer& teacher, std::span<const SftExample> train,
                      std::span<const SftExample> held_out, SftObjectiveOptions opts, DistillOptions distill);
  // From distill.cache alone (built for `train`): no teacher.
  SftDistillObjective(Transformer& student, std::span<const SftExample> train, std::span<const SftExample> held_out,
                      SftObjectiveOptions opts, DistillOptions distill);
  nlohmann::json trajectory() const override;
  double flops_per_token() const override;

 protected:
  MicroLoss batch_loss(const SftBatch& batch) override;
  void redraw(SftBatch& batch, uint64_t first_row) override;

 private:
  const Transformer* teacher_;  // nullptr with a cache
  DistillOptions distill_;
  int64_t seq_;
};

class LmDistillObjective : public LmObjective {
 public:
  LmDistillObjective(Transformer& student, const Transformer& teacher, const TokenDataset& train,
                     const TokenDataset* val, LmObjectiveOptions opts, DistillOptions distill);
  nlohmann::json trajectory() const override;
  double flops_per_token() const override;

 protected:
  MicroLoss batch_loss(const Tensor& ids, const Tensor& targets) override;

 private:
  const Transformer& teacher_;
  DistillOptions distill_;
  int64_t seq_;
};

}  // namespace baimo::train
