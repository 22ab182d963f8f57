// DpoObjective: direct preference optimisation and its family (train/preference_loss.h: sigmoid =
// DPO, IPO, hinge, SimPO, ORPO) over preference pairs (objectives/pair_objective.h).
// Per micro-batch: the policy's log-probability of each chosen and rejected answer (sums over the
// answer tokens: Transformer::token_logprobs then segment_sum over each sequence's targets), the
// reference's (cached), and preference_loss.
// The reference model is the model as it is when the objective is built (before any update, before a
// resume restores a checkpoint): its log-probs of every training and held-out pair are computed once
// then, in fixed chunks in pair order (the same values on every run and rank), so no second copy of
// the weights is kept; with LoRA the adapter is detached for it (the base is the reference). Losses
// that need no reference (SimPO, ORPO) skip it.
// Metrics (TRL's names, means over pairs): rewards/chosen, rewards/rejected, rewards/accuracies (share
// of pairs with chosen reward > rejected), rewards/margins, logps/chosen, logps/rejected (sums).
#pragma once
#include <vector>

#include "baimo/train/objectives/pair_objective.h"
#include "baimo/train/preference_loss.h"

namespace baimo::train {

class DpoObjective : public PairObjective {
 public:
  DpoObjective(Transformer& model, LoraAdapter* adapter, std::span<const PreferenceExample> train,
               std::span<const PreferenceExample> held_out, PairObjectiveOptions opts, PreferenceLossOptions loss);
  // The cached reference log-probs (chosen, rejected) of training pairs `ids` (empty without a reference).
  std::pair<std::vector<float>, std::vector<float>> reference_of(std::span<const size_t> ids) const;

 protected:
  PairLoss pair_loss(const PreferenceRows& rows, std::span<const size_t> ids, bool held_out) override;
  nlohmann::json extra_trajectory() const override;

 private:
  struct ReferenceLogps {
    std::vector<float> chosen, rejected;  // per pair
  };
  ReferenceLogps reference_logps(std::span<const PreferenceExample> examples);
  PreferenceLossOptions loss_;
  ReferenceLogps ref_train_, ref_held_out_;
};

// Sums of the answer tokens' log-probs of each pair's chosen and rejected sequence: (P) each.
struct PairLogps {
  ag::Var chosen, rejected;
};
PairLogps pair_logps(const Transformer& model, const PreferenceRows& rows);

}  // namespace baimo::train
