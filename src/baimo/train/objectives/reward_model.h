// RewardObjective: a reward model (InstructGPT step 2) learned from preference pairs
// (objectives/pair_objective.h): the model's reward of each sequence is its score head on the last
// token's hidden state (Transformer::rewards, the Hugging Face sequence-classification layout), and
// the loss is Bradley–Terry, -log σ(r⁺ − r⁻), plus center_coef · mean((r⁺ + r⁻)²) when asked
// (train/preference_loss.h). A full run trains the trunk and the head (module "model", saved as the
// reward-model directory); a LoRA run trains the adapter (module "lora") and the head (module
// "score", its one matrix, no weight decay).
// Metrics (means over pairs): accuracy (share with r⁺ > r⁻), margin (r⁺ − r⁻), reward/chosen,
// reward/rejected.
#pragma once
#include "baimo/train/objectives/pair_objective.h"

namespace baimo::train {

class RewardObjective : public PairObjective {
 public:
  RewardObjective(Transformer& model, LoraAdapter* adapter, std::span<const PreferenceExample> train,
                  std::span<const PreferenceExample> held_out, PairObjectiveOptions opts, float center_coef);

 protected:
  PairLoss pair_loss(const PreferenceRows& rows, std::span<const size_t> ids, bool held_out) override;
  std::vector<TrainModule> extra_modules() override;
  nlohmann::json extra_trajectory() const override;

 private:
  float center_coef_;
};

}  // namespace baimo::train
