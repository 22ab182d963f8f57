// GrpoObjective: group relative policy optimisation (DeepSeekMath; TRL GRPOTrainer) with the
// clipped ratio, the k3 KL leash to the reference and the grpo / dapo / dr_grpo normalisations of
// train/rl_loss.h, on rollouts that baimo's own engine samples from the live policy weights
// (infer/rollout.h: live_weights, generate_rollouts; no copy of a full model's weights, no sync step).
// A rollout batch (rollout_batch.h: the prompt stream, sampling, layout, reference log-probs), every
// `iterations` steps: the step's `prompts` prompts each get `group` samples (seed mix_seed(seed,
// batch number)); the reward callback scores them; advantages are normalised within each group
// (group_advantages). With beta > 0 the reference's per-token log-probs are computed then (LoRA: the
// base with the adapter off; full: a frozen copy of the start weights made at construction), and with
// iterations > 1 the policy's own (the "old" log-probs of the ratio); iterations == 1 takes the ratio
// against the current log-probs (ratio 1, gradient A d logp, as TRL).
// Micro-batch m of a step: this rank's completions [m*n/ga, (m+1)*n/ga) of the batch (n = its
// completions); each completion is one row: prompt + completion tokens, the loss on the completion
// tokens (the end-of-turn token included). Its count of loss terms is its completions (grpo,
// dr_grpo) or its completion tokens (dapo), so the Trainer's weighting gives the normalisation over
// the global batch exactly.
// Metrics per step (TRL's names where TRL has them): reward, reward_std, reward/<part>,
// frac_reward_zero_std, completion_length, stop_share (answers that ended with end-of-turn), kl (mean
// k3; 0 without reference), clip_ratio/{low,high,region}, ratio_mean, entropy (of the sampled tokens'
// raw model distributions, rollout_batch.h);
// time/{generate,score,reference}_s and rollout_tokens_per_s of the batch.
// evaluate(): greedy answers to the held-out prompts scored by the reward callback; the validation
// "loss" is minus their mean reward, eval_metrics() reward, stop_share, completion_length.
// state(): prompt position, batches sampled, and (mid-batch, iterations > 1) the batch itself, so that
// a resume after kill -9 continues bit-identically.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "baimo/infer/rollout.h"
#include "baimo/model/lora.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/train/objective.h"
#include "baimo/train/objectives/finetune_module.h"
#include "baimo/train/objectives/rollout_batch.h"
#include "baimo/train/rl_loss.h"

namespace baimo::train {

struct GrpoObjectiveOptions {
  int64_t prompts = 8;     // global prompts per rollout batch
  int64_t group = 8;       // samples per prompt (>= 2)
  int64_t grad_accum = 1;  // micro-batches per step
  int64_t iterations = 1;  // optimisation steps per rollout batch (TRL num_iterations)
  RolloutOptions rollout;  // max_new_tokens, sampling, eos_ids, slots, ctx (samples and seed are set here)
  GrpoOptions loss;        // clip, beta, norm (the scale is set per micro-batch)
  bool scale_rewards = true;    // divide by the group's std (false: Dr. GRPO)
  int64_t eval_prompts = 0;     // 0 = every held-out prompt
  uint64_t seed = 0;
  FinetuneModuleOptions module;
  int rank = 0, world = 1;
};

class GrpoObjective : public Objective {
 public:
  // The prompt token ids (rendered with the generation prompt) are kept by reference.
  GrpoObjective(Transformer& model, LoraAdapter* adapter, std::shared_ptr<const Tokenizer> tokenizer,
                std::span<const std::vector<int32_t>> train, std::span<const std::vector<int32_t>> held_out,
                RewardFn reward, GrpoObjectiveOptions opts);
  ~GrpoObjective() override;
  std::vector<TrainModule> modules() override;
  int64_t draw(int64_t micro) override;
  MicroLoss forward(int64_t micro) override;
  std::optional<float> evaluate() override;
  std::vector<std::pair<std::string, float>> eval_metrics() const override { return eval_metrics_; }
  bool token_loss() const override { return false; }
  bool loss_has_scale() const override { return false; }  // a policy-gradient loss sits around 0
  nlohmann::json state() const override;
  nlohmann::json restore(const nlohmann::json& state, const std::string& where, bool rollback) override;
  nlohmann::json trajectory() const override;
  double tokens_per_micro_batch() const override;
  double flops_per_token() const override;

  // One rollout batch as laid out for the loss (public for tests and bench/grpo).
  struct Batch : RolloutBatch {
    std::vector<float> advantages;  // per completion
  };
  const Batch& batch() const { return batch_; }

 private:
  void sample_batch();

  Transformer& model_;
  LoraAdapter* adapter_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::span<const std::vector<int32_t>> train_, held_out_;
  RewardFn reward_;
  GrpoObjectiveOptions opts_;
  std::unique_ptr<Transformer> reference_;  // full fine-tune with beta > 0: the start weights
  uint64_t prompt_position_ = 0;            // prompts of the stream consumed
  uint64_t batches_ = 0;                    // rollout batches sampled
  int64_t iteration_ = 0;                   // steps taken on batch_ (0: a new batch is due)
  Batch batch_;
  struct Micro {
    size_t begin = 0, end = 0;  // completions of batch_
  };
  std::vector<Micro> micro_;
  double mean_row_tokens_ = 0;
  std::vector<std::pair<std::string, float>> eval_metrics_;
};

}  // namespace baimo::train
