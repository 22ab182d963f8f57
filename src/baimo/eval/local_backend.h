// EvalBackend (eval/backend.h) on a model loaded in this process: multiple choice on the inference
// engine (eval/mc_score.h: encode_mc + score_mc, `slots` engine slots, at least the most choices of
// an item) and generation through the batch scheduler (eval/batch_generate.h, `slots` slots).
// Chat prompts are rendered with the model's chat template and stop at its end-of-turn marker;
// end_of_turn: the answer stopped on the template's end-of-turn token (not the base model's EOS),
// known for chat prompts of a template that has one. The --log-samples record gets the token ids.
// ctx: the engine context (0: the model's, at most 2048; more than the model's is an error).
#pragma once
#include <cstdint>

#include "baimo/eval/backend.h"
#include "baimo/infer/inference_model.h"

namespace baimo::eval {

class LocalBackend : public EvalBackend {
 public:
  LocalBackend(const InferenceModel& model, int slots, int64_t ctx, int threads);
  std::vector<McScored> score_mc(std::span<const McItem> items, const DoneFn& progress) override;
  GenOutput generate(std::span<const GenPrompt> prompts, const GenSettings& s, const DoneFn& progress) override;
  bool end_of_turn_known(bool raw) const override;

 private:
  const InferenceModel& m_;
  int slots_;
  int64_t ctx_;
  int threads_;
};

}  // namespace baimo::eval
