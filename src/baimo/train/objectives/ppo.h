// PpoObjective: PPO from feedback (Ziegler et al. 2019; Ouyang et al. 2022), with the semantics of
// TRL's PPOTrainer and OpenRLHF: a policy (full or LoRA), a value model (value_model.h: its own
// trunk, zero score head), a frozen reference (LoRA: the base with the adapter off; full: a copy of
// the start weights) and a reward callback (e.g. a reward model in process, eval/rewards.h model:DIR).
// A rollout batch (rollout_batch.h: prompt stream, sampling from the live weights, loss layout) every
// ppo_epochs x mini_batches steps: the step's `prompts` prompts get `samples` answers each (seed
// mix_seed(seed, batch number)), then
//   score_i  = the callback's total, minus missing_eos_penalty when answer i did not end with an
//              end-of-turn / EOS id (TRL's "EOS trick"); with normalize_reward, (score - mean) / std
//              over every score seen so far (running, this rank's; in the state)
//   old_logp, ref_logp, old values: per completion token, no gradient (the policy, the reference,
//              the value model as they are now)
//   kl_t     = the estimator (k1 default | k2 | k3, rl_kl.h) of old_logp vs ref_logp
//   r_t      = ppo_token_rewards(score, kl, kl_coef)   (rl_advantages.h: -kl_coef kl_t, + score at
//              the last token)
//   A, R     = gae(r, V_old, gamma, lambda); A = masked_whiten(A) over this rank's batch (whiten)
//   kl_coef  : fixed, or with target_kl > 0 the AdaptiveKlController (horizon kl_horizon), updated
//              after each batch with the batch's KL (mean over answers of the summed kl_t) and the
//              global answer count.
// Steps on a batch: epoch e = step / mini_batches takes the batch's answers in the order
// seeded_permutation(n, mix_seed(mix_seed(seed, batch number), e)) (identity when mini_batches = 1)
// and minibatch m = answers [m n / M, (m+1) n / M) of that order; micro-batch k of the step = the
// k-th of grad_accum equal parts of the minibatch. Each micro-batch: ppo_loss (rl_loss.h: clipped
// ratio, clipped value loss, loss = policy_loss + vf_coef value_loss) with the dapo normalisation
// over its completion tokens; draw() returns that token count, so the Trainer's weighting gives the
// token mean over the whole minibatch (and ranks) exactly. Two trainable modules: the policy
// ("model" | "lora", module 0) and "value".
// Metrics per step (TRL's names where it has them): reward, reward_std, reward/<part> (the callback's
// scores, before the penalty), score (after the penalty, before normalisation), kl (mean over answers
// of the summed per-token estimate), non_score_reward (mean summed -kl_coef kl), kl_coef, entropy,
// completion_length, stop_share, time/{generate,score,reference}_s (reference: old log-probs,
// reference log-probs and values), rollout_tokens_per_s; per micro-batch: policy_loss, value_loss,
// clip_ratio (ratio outside the clip range in the direction that clips), ratio_mean, value_clip_frac.
// evaluate(): greedy held-out answers scored by the callback; validation loss = minus their mean.
// state(): prompt position, batches, the step within the batch, kl_coef, the reward statistics and,
// mid-batch, the batch itself: a resume after kill -9 continues bit-identically.
// loss_has_scale() is false (a policy-gradient loss sits around 0): the spike guard rejects only
// non-finite losses and gradients.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "baimo/model/lora.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/train/objective.h"
#include "baimo/train/objectives/finetune_module.h"
#include "baimo/train/objectives/rollout_batch.h"
#include "baimo/train/objectives/value_model.h"
#include "baimo/train/rl_kl.h"
#include "baimo/train/rl_loss.h"

namespace baimo::train {

struct PpoObjectiveOptions {
  int64_t prompts = 8;       // global prompts per rollout batch
  int64_t samples = 1;       // answers per prompt
  int64_t grad_accum = 1;    // micro-batches per optimiser step
  int64_t ppo_epochs = 4;    // passes over a rollout batch
  int64_t mini_batches = 1;  // optimiser steps per pass
  RolloutOptions rollout;    // max_new_tokens, sampling, eos_ids, slots, ctx (samples and seed are set here)
  PpoOptions loss;           // clip 0.2, value_clip 0.2, vf_coef 0.1 (norm and scale are set here)
  float kl_coef = 0.05f;     // the fixed coefficient, or the controller's start
  float target_kl = 0;       // > 0: adaptive coefficient (AdaptiveKlController)
  float kl_horizon = 10000;
  KlEstimator kl_estimator = KlEstimator::K1;
  float gamma = 1, lambda = 0.95f;
  float missing_eos_penalty = 0;
  bool normalize_reward = false;
  bool whiten_advantages = true;
  int64_t eval_prompts = 0;  // 0 = every held-out prompt
  uint64_t seed = 0;
  FinetuneModuleOptions module;
  int rank = 0, world = 1;
};

class PpoObjective : public Objective {
 public:
  // The prompt token ids (rendered with the generation prompt) are kept by reference; so is `value`.
  PpoObjective(Transformer& model, LoraAdapter* adapter, ValueModel& value, std::shared_ptr<const Tokenizer> tokenizer,
               std::span<const std::vector<int32_t>> train, std::span<const std::vector<int32_t>> held_out,
               RewardFn reward, PpoObjectiveOptions opts);
  ~PpoObjective() override;
  std::vector<TrainModule> modules() override;
  int64_t draw(int64_t micro) override;
  MicroLoss forward(int64_t micro) override;
  std::optional<float> evaluate() override;
  std::vector<std::pair<std::string, float>> eval_metrics() const override { return eval_metrics_; }
  bool token_loss() const override { return false; }
  bool loss_has_scale() const override { return false; }
  nlohmann::json state() const override;
  nlohmann::json restore(const nlohmann::json& state, const std::string& where, bool rollback) override;
  nlohmann::json trajectory() const override;
  double tokens_per_micro_batch() const override;
  double flops_per_token() const override;

  // One rollout batch (public for tests): per completion, per completion token.
  struct Batch : RolloutBatch {
    std::vector<float> scores;                                // per completion: after penalty / normalisation
    std::vector<std::vector<float>> old_values, advantages, returns;
  };
  const Batch& batch() const { return batch_; }
  float kl_coef() const { return kl_.value(); }

 private:
  void sample_batch();

  Transformer& model_;
  LoraAdapter* adapter_;
  ValueModel& value_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::span<const std::vector<int32_t>> train_, held_out_;
  RewardFn reward_;
  PpoObjectiveOptions opts_;
  std::unique_ptr<Transformer> reference_;  // full fine-tune: the start weights
  AdaptiveKlController kl_;                 // with target_kl == 0 never updated: the fixed coefficient
  struct RunningMoments {
    double count = 0, mean = 0, m2 = 0;  // Welford over every score seen
  } moments_;
  uint64_t prompt_position_ = 0;  // prompts of the stream consumed
  uint64_t batches_ = 0;          // rollout batches sampled
  int64_t step_ = 0;              // steps taken on batch_ (0: a new batch is due)
  Batch batch_;
  std::vector<std::vector<size_t>> micro_;  // completions of batch_ per micro-batch of the step
  uint64_t forward_seed_ = 0;               // the step's LoRA dropout seeds
  double mean_row_tokens_ = 0;
  std::vector<std::pair<std::string, float>> eval_metrics_;
};

}  // namespace baimo::train
