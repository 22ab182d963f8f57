// Batched generation for evaluation: a thin view of infer/rollout.h's generate_rollouts (the one
// generation loop: the server's BatchScheduler, continuous batching, prompt prefix reuse across
// slots) that keeps what evaluation reads of each sample.
// Contract: prompts (each 1 <= size < ctx, else baimo::Error naming its index) are submitted all at
// once, `samples` sequences each (sequence i of prompt p samples with seed + p * samples + i;
// temperature 0 = greedy, then the result does not depend on the batch). Returns, per prompt, its
// samples in order: the generated text (stop strings removed), the generated token count, and
// whether it stopped by itself (finish_reason "stop": an EOS / end-of-turn id or a stop string)
// rather than at max_tokens or the context's end, and its last token id. An engine error is a baimo::Error.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "baimo/infer/model_weights.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo::eval {

struct BatchGenerateOptions {
  int slots = 8;
  int64_t ctx = 1024;
  int max_tokens = 64;
  int samples = 1;
  float temperature = 0;
  float repetition_penalty = 1;  // 1 = off
  uint64_t seed = 0;
  std::vector<std::string> stop;
  std::vector<int32_t> eos_ids;
  int threads = 0;  // OpenMP threads of the scheduler thread (0: the process default)
};

struct GeneratedSample {
  std::string text;
  int64_t tokens = 0;
  bool stopped = false;
  int32_t last_id = -1;  // the last generated token (the EOS / end-of-turn id when it stopped on one)
  bool end_of_turn = false;  // set by the evaluation backend (eval/backend.h), not by batch_generate
};

std::vector<std::vector<GeneratedSample>> batch_generate(std::shared_ptr<const ModelWeights> weights,
                                                         std::shared_ptr<const Tokenizer> tokenizer,
                                                         std::span<const std::vector<int32_t>> prompts,
                                                         const BatchGenerateOptions& options,
                                                         const std::function<void(int64_t done)>& progress = {});

}  // namespace baimo::eval
