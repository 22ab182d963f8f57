// Scores one task on a model (a backend, eval/backend.h: loaded here or served over the API) and returns its metrics (per metric: mean over the test examples,
// standard error of the mean, n), plus one JSON record per example for --log-samples.
// Multiple choice (eval/mc_score.h): acc (argmax of the summed continuation log-probs == gold) and
//   acc_norm (argmax of the sum divided by the choice's UTF-8 bytes == gold), acc_norm_chars (divided
//   by its characters instead: lm-eval's own acc_norm).
// Generation (eval/batch_generate.h + eval/extract.h): the prompt goes through the model's chat
//   template as a user turn (few-shot examples as earlier turns) with the generation prompt, or,
//   with raw_prompts, as "Q: ...\nA:" text stopping at a newline. Greedy when samples == 1.
//   exact_match: the first sample's extracted answer equals the reference; no_answer: share of
//   first samples without an extractable answer (counted wrong, never dropped); eos_rate: share of
//   samples that stopped by themselves (EOS / end-of-turn token, or the raw newline stop) instead of
//   running into max_tokens; eot_rate (when the backend knows it: a local chat template with an
//   end-of-turn token, or any chat answer over the API, where finish_reason "stop" ends the turn):
//   share of samples that ended with that token (a chat answer that stops, not a base model's end-of-document EOS); mean_tokens: generated tokens per sample; with samples n > 1 also
//   pass@k for k = 1, 2, 4, ... <= n (unbiased estimator, eval/stats.h) per example, averaged.
// limit > 0 keeps the first `limit` test examples.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "baimo/eval/backend.h"
#include "baimo/eval/task.h"
#include "baimo/infer/inference_model.h"

namespace baimo::eval {

struct EvalSettings {
  int shots = 0;
  uint64_t seed = 1234;
  int batch = 8;          // engine slots
  int64_t limit = 0;
  int64_t ctx = 0;        // 0: the model's context, at most 2048
  bool raw_prompts = false;
  int max_tokens = 32;
  int samples = 1;
  float temperature = 0.8f;  // used when samples > 1 (one sample is always greedy)
  float repetition_penalty = 1.0f;  // 1 = off; applies to greedy and sampled answers
  int threads = 0;           // compute threads of the generation scheduler (0: the process default)
};

struct Metric {
  std::string name;
  double value = 0, stderr_ = 0;
  int64_t n = 0;
};

struct TaskResult {
  std::string task, kind;  // kind: "multiple_choice" | "generation"
  int64_t n = 0;
  std::vector<Metric> metrics;
  double seconds = 0;
};

using SampleLog = std::function<void(const nlohmann::json&)>;
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

TaskResult run_task(EvalBackend& backend, const Task& task, const EvalSettings& s, const SampleLog& log = {},
                    const ProgressFn& progress = {});
// The same on a model loaded here (eval/local_backend.h with s.batch slots, s.ctx, s.threads).
TaskResult run_task(const InferenceModel& m, const Task& task, const EvalSettings& s, const SampleLog& log = {},
                    const ProgressFn& progress = {});

}  // namespace baimo::eval
