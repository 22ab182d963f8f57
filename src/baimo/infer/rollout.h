// generate_rollouts: the one batched generator of baimo — RL rollouts (GRPO / PPO), distillation and
// evaluation (eval/batch_generate.h wraps it). Many prompts, k samples each, through the server's
// BatchScheduler (infer/batch_scheduler.h: one Engine with `slots` slots, continuous batching; the
// k samples of a prompt share its prefill, the later ones copy the first one's K/V).
// Contract:
// - prompts: each 1 <= size < ctx, else baimo::Error naming the prompt's index; samples >= 1.
// - Sample i of prompt p samples with seed + p * samples + i, so results do not depend on `slots`
//   (the logits of a row do not depend on the batch); temperature 0 = greedy.
// - Returns, per prompt, its samples in order (shapes: [prompts][samples], then per token):
//   tokens: the generated ids, including the final EOS / end-of-turn id when it stopped on one;
//   logprobs[t]: log-prob of tokens[t] under the SAMPLING distribution (temperature, top-k, top-p
//   applied and renormalised; Sampler::last_logprob) — what the policy-gradient importance ratio of
//   the rollout needs; 0 when greedy;
//   model_logprobs[t]: the raw model log-softmax (temperature 1) at tokens[t], as
//   Transformer::token_logprobs gives it for prompt + tokens;
//   entropy[t]: the entropy (nats) of that raw distribution at step t (Sequence's TokenStep::entropy);
//   text: the decoded text, stop strings removed; stopped: ended by an EOS / end-of-turn id
//   (tokenizer EOS or eos_ids) or a stop string, not by max_new_tokens or the context's end.
// - progress(done) after each prompt's samples are complete (done = prompts so far, in order).
// - stats (optional): the scheduler's prefix-reuse counter and the work done.
// An engine error is a baimo::Error naming the prompt.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "baimo/infer/live_weights.h"
#include "baimo/infer/model_weights.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

struct RolloutOptions {
  int slots = 16;
  int64_t ctx = 1024;
  int max_new_tokens = 128;
  int samples = 1;  // k samples per prompt
  float temperature = 1;  // 0 = greedy
  int top_k = 0;
  float top_p = 1;
  float repetition_penalty = 1;  // 1 = off; over the prompt and the answer so far (Sampler)
  uint64_t seed = 0;  // sample i of prompt p uses seed + p * samples + i
  std::vector<int32_t> eos_ids;
  std::vector<std::string> stop;
  bool ignore_eos = false;  // run to max_new_tokens through EOS ids (benchmarks: the same work every time)
  int threads = 0;  // OpenMP threads of the scheduler thread (0: the process default)
};

struct RolloutSample {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;        // (tokens) under the sampling distribution; 0 when greedy
  std::vector<float> model_logprobs;  // (tokens) raw model log-softmax
  std::vector<float> entropy;         // (tokens) entropy of the raw model distribution
  std::string text;
  bool stopped = false;
};

struct RolloutStats {
  int64_t reused_prompt_tokens = 0;  // prompt tokens whose K/V were copied, not recomputed
  int64_t prompt_tokens = 0;         // sum over prompts x samples
  int64_t generated_tokens = 0;
  double seconds = 0;                // scheduler start to the last sample
};

std::vector<std::vector<RolloutSample>> generate_rollouts(std::shared_ptr<const ModelWeights> weights,
                                                          std::shared_ptr<const Tokenizer> tokenizer,
                                                          std::span<const std::vector<int32_t>> prompts,
                                                          const RolloutOptions& options,
                                                          const std::function<void(int64_t done)>& progress = {},
                                                          RolloutStats* stats = nullptr);

}  // namespace baimo
