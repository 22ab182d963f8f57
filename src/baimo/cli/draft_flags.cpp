#include "baimo/cli/draft_flags.h"

#include <fmt/format.h>

#include "baimo/infer/model_draft.h"
#include "baimo/infer/ngram_draft.h"
#include "baimo/util/error.h"

namespace baimo::cli {

void DraftFlags::add_to(CLI::App* sub) {
  sub->add_option("--draft-model", model,
                  "Speculative decoding: a small model directory or .gguf with the same tokenizer drafts tokens");
  sub->add_option("--draft-dtype", dtype, "Convert the draft model directory's weights at load: f32, f16, bf16, q8_0, q4_0");
  sub->add_option("--draft-ngram", ngram,
                  "Speculative decoding by prompt lookup: match the last N..1 tokens earlier in the text, draft what followed");
  sub->add_option("--draft-k", k, "Most tokens drafted per step, 1-15 (default 5 with a model, 8 with n-gram)");
  sub->add_flag("--draft-fixed-k", fixed_k, "Always draft --draft-k tokens (default: fewer while few are accepted)");
}

void DraftFlags::check() const {
  if (!model.empty() && ngram)
    fail("--draft-model and --draft-ngram are two kinds of draft: give one of them");
  if (!dtype.empty() && model.empty()) fail("--draft-dtype needs --draft-model");
  if (model.empty() && !ngram) {
    if (k) fail("--draft-k needs --draft-model or --draft-ngram");
    if (fixed_k) fail("--draft-fixed-k needs --draft-model or --draft-ngram");
  }
  if (k) check_draft_k(*k);
  if (ngram && *ngram < 1) fail("--draft-ngram must be at least 1 (the n-gram length looked up), got {}", *ngram);
}

std::shared_ptr<const ModelWeights> DraftFlags::load_model(const InferenceModel& target,
                                                           const std::string& target_path) const {
  InferenceModel d = load_inference_model(model, dtype);
  check_draft_compatible(target.config(), *target.tokenizer, target_path, d.config(), *d.tokenizer, model);
  return d.weights;
}

std::unique_ptr<Drafter> DraftFlags::open(const InferenceModel& target, const std::string& target_path, int64_t ctx,
                                          const SamplingParams& sampling) const {
  check();
  if (ngram) return std::make_unique<NgramDrafter>(*ngram);
  if (model.empty()) return nullptr;
  return std::make_unique<ModelDrafter>(load_model(target, target_path), ctx, sampling);
}

void DraftFlags::apply(Drafter* drafter, GenerateOptions& go) const {
  go.drafter = drafter;
  go.draft_k = draft_k();
  go.adaptive_k = !fixed_k;
}

std::string speculative_stats(const GenerateResult& r) {
  if (r.target_passes == 0) return "";
  const int64_t decoded = static_cast<int64_t>(r.tokens.size()) - 1;  // the first token comes from the prefill
  return fmt::format(" | speculative: {} of {} drafts accepted ({:.1f}%), {:.2f} tokens per target pass",
                     r.accepted, r.drafted, r.drafted ? 100.0 * static_cast<double>(r.accepted) / r.drafted : 0.0,
                     static_cast<double>(decoded) / static_cast<double>(r.target_passes));
}

}  // namespace baimo::cli
