// Speculative decoding flags shared by `baimo generate`, `baimo chat` and `baimo serve` (infer/speculative.h):
//   --draft-model D   a small model sharing the target's tokenizer drafts tokens (--draft-dtype
//                     converts a model directory's weights at load, e.g. q4_0 of the target itself)
//   --draft-ngram N   prompt lookup: the continuation of the last N..1 tokens' latest earlier match
//   --draft-k K       most tokens drafted per step (1..15; default 5 for a model, 8 for n-gram),
//                     adapted to the acceptance unless --draft-fixed-k
// check() checks the flags (both kinds at once, --draft-k, --draft-fixed-k or --draft-dtype without a
// draft, k out of range: baimo::Error); load_model() loads the draft model and checks it against the
// target (another vocabulary or tokenizer: baimo::Error). open() does both and returns the drafter
// of generate() / chat, or nullptr without a draft flag; draft_k() is --draft-k or its default.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "baimo/infer/generate.h"
#include "baimo/infer/inference_model.h"

namespace baimo::cli {

struct DraftFlags {
  std::string model, dtype;
  std::optional<int> ngram, k;
  bool fixed_k = false;

  void add_to(CLI::App* sub);
  void check() const;
  std::shared_ptr<const ModelWeights> load_model(const InferenceModel& target, const std::string& target_path) const;
  int draft_k() const { return k ? *k : ngram ? 8 : 5; }
  // ctx: the target's context; sampling: the target's parameters (the draft model samples with them).
  std::unique_ptr<Drafter> open(const InferenceModel& target, const std::string& target_path, int64_t ctx,
                                const SamplingParams& sampling) const;
  // Sets go's drafter, draft_k and adaptive_k.
  void apply(Drafter* drafter, GenerateOptions& go) const;
};

// " | speculative: ..." for a statistics line: acceptance and tokens per target pass ("" without drafts).
std::string speculative_stats(const GenerateResult& r);

}  // namespace baimo::cli
