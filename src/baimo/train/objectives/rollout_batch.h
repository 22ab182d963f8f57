// The rollout batch that the policy-gradient objectives (GRPO: grpo.h, PPO: ppo.h) share: what is
// sampled, how it is laid out for the loss, and how it goes into a checkpoint.
// - next_prompts: the prompt stream. The step's `prompts` prompts (global; rank r of w takes prompts
//   [r*P/w, (r+1)*P/w)) of an endless stream over n training prompts, epoch e in the order
//   seeded_permutation(n, mix_seed(seed, e)); `position` (prompts consumed) moves by P.
// - sample_rollouts: `ro.samples` answers per prompt from the live weights of `model` (LoRA dropout
//   off: the policy as it is; infer/rollout.h), rows = prompt + completion tokens, in prompt order;
//   returns the batch (prompt_ids, rows, prompt_len), the samples and the generation time.
// - score_rollouts: the reward callback's totals, checked (one finite number per sample).
// - Loss layout of completions [begin, end): ids (B, T) = row[0 .. len-2] (padded with 0),
//   targets (B, T) = row[t + 1] where that is a completion token, else kIgnoreTarget, mask (B, T) 1
//   there; T = the longest row - 1. Completion token i of row b sits at column prompt_len[b] - 1 + i
//   (the position whose output predicts it: a log-prob or a value). to_layout puts per-completion,
//   per-token values there (0 elsewhere); empty in, empty out.
// - completion_logprobs: per-token log-probs of each completion under `model`, no gradient (16 rows
//   per forward; resets the tape). reference_logprobs: under the reference: LoRA (adapter != nullptr)
//   the same model with the adapter detached (the base), full the frozen copy `reference`
//   (copy_weights: a deep copy of the start weights made at construction).
// - Metrics: add_sample_metrics (completion_length, stop_share, entropy = mean per-token entropy of
//   the raw model distribution over completion tokens); add_reward_metrics (reward = mean, reward_std
//   unbiased, reward/<part> means).
// - rollout_batch_json / rollout_batch_from_json: the fields above plus old_logp, ref_logp and the
//   batch's metrics, so that a checkpoint taken mid-batch restores the same rollouts (baimo::Error
//   naming `where` on a malformed batch). Each objective adds its own fields.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "baimo/infer/rollout.h"
#include "baimo/model/lora.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/elapsed.h"  // seconds_since, for the objectives' timings

namespace baimo::train {

// Rewards of a batch: total per sample, and each named part (logged as reward/<name>).
struct RolloutRewards {
  std::vector<float> total;
  std::vector<std::pair<std::string, std::vector<float>>> parts;
};
// prompts[i] is the index (into the training or held-out prompts, `held_out` says which) of
// samples[i]'s prompt. Must return one finite total per sample, or throw baimo::Error.
using RewardFn = std::function<RolloutRewards(std::span<const size_t> prompts, std::span<const RolloutSample> samples,
                                              bool held_out)>;

using Metrics = std::vector<std::pair<std::string, float>>;

struct RolloutBatch {
  std::vector<size_t> prompt_ids;                      // per completion: its prompt (index into train)
  std::vector<std::vector<int32_t>> rows;              // per completion: prompt + completion tokens
  std::vector<size_t> prompt_len;                      // per completion
  std::vector<std::vector<float>> old_logp, ref_logp;  // per completion, per completion token (or empty)
  Metrics metrics;                                     // the batch's rollout metrics
  size_t completion_tokens(size_t i) const { return rows[i].size() - prompt_len[i]; }
};

std::vector<size_t> next_prompts(uint64_t& position, size_t n_train, int64_t prompts, int rank, int world,
                                 uint64_t seed);

struct Rollouts {
  RolloutBatch batch;
  std::vector<RolloutSample> samples;  // per completion, as batch.rows
  double generate_s = 0, new_tokens = 0;
};
Rollouts sample_rollouts(Transformer& model, LoraAdapter* adapter, const std::shared_ptr<const Tokenizer>& tokenizer,
                         std::span<const std::vector<int32_t>> train, const std::vector<size_t>& prompt_ids,
                         const RolloutOptions& ro);

RolloutRewards score_rollouts(const RewardFn& reward, std::span<const size_t> prompt_ids,
                              std::span<const RolloutSample> samples, bool held_out);

// The held-out evaluation: greedy answers (one per prompt) of the live `model` to the first
// eval_prompts (0: all) held-out prompts, scored by `reward` (held_out = true). Returns their mean
// reward; `out` gets reward, reward/<part>, completion_length, stop_share, entropy.
double held_out_reward(Transformer& model, LoraAdapter* adapter, const std::shared_ptr<const Tokenizer>& tokenizer,
                       std::span<const std::vector<int32_t>> held_out, int64_t eval_prompts, RolloutOptions ro,
                       const RewardFn& reward, Metrics& out);

struct LossRows {
  int64_t b = 0, t = 0;
  std::vector<int32_t> ids, targets;
  std::vector<float> mask;  // (B, T): 1 at completion tokens
};
LossRows loss_rows(const RolloutBatch& batch, size_t begin, size_t end);
std::vector<float> to_layout(const RolloutBatch& batch, const std::vector<std::vector<float>>& per_row, size_t begin,
                             size_t end, int64_t t);
// Per completion of [begin, end): the (B, T) values `v` of the layout at its completion tokens.
std::vector<std::vector<float>> from_layout(const RolloutBatch& batch, const float* v, size_t begin, size_t end,
                                            int64_t t);

std::vector<std::vector<float>> completion_logprobs(const Transformer& model, const RolloutBatch& batch, size_t begin,
                                                    size_t end);
std::vector<std::vector<float>> reference_logprobs(Transformer& model, LoraAdapter* adapter,
                                                   const Transformer* reference, const RolloutBatch& batch);
std::unique_ptr<Transformer> copy_weights(const Transformer& model);

using Clock = std::chrono::steady_clock;
double mean_of(std::span<const float> v);
void add_sample_metrics(std::span<const RolloutSample> samples, Metrics& m);
void add_reward_metrics(const RolloutRewards& r, Metrics& m);

nlohmann::json rollout_batch_json(const RolloutBatch& b);
RolloutBatch rollout_batch_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace baimo::train
