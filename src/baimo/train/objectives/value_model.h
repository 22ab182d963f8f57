// ValueModel: PPO's critic V(prefix) — a trunk with a scalar head (the reward model's
// SequenceClassification layout, model/reward_model.h) read at EVERY position: values(ids) (B, T) ->
// (B*T), value[b, t] = score . norm(h)[b, t], the value of the state after tokens 0..t.
// Why its own trunk (as TRL PPOTrainer and OpenRLHF: a separate critic model, not a value head on the
// policy): the value loss then never moves the policy's weights and the policy loss never moves the
// critic's, so neither objective disturbs the other (a shared trunk needs a tuned vf_coef to keep the
// value gradients from dominating the policy's). What it costs: a second forward + backward of a
// trunk per micro-batch (about twice a policy-only step) and, full, a second copy of the weights with
// its own AdamW moments (3x the parameters' memory again); with LoRA only the adapter and the head.
// Contract:
// - full(policy, seed): a deep copy of the policy's trunk (make_reward_model: its own parameter Vars,
//   no lm_head) with the score head ZERO (every value 0 at the start). Module "value": the whole
//   model, saved as a *ForSequenceClassification model directory (loadable as a reward model).
// - from_reward_model(rm): the reward model itself as the critic (TRL initialises the value model
//   from the reward model), trunk and head; it must read the policy's vocabulary and fit its context
//   (baimo::Error otherwise).
// - lora(policy, lc, seed): a second Transformer object over the SAME base weights (a shallow copy:
//   Transformer copies share parameter Vars, frozen base included) with its own LoRA adapter
//   (LoraAdapter::create(lc, seed): B = 0) and its own zero score head Var (1, C); LoRA attachment
//   is per Transformer object, so the policy's adapter and this one never mix. Module "value": the
//   adapter's A and B and "score.weight".
// - set_lora_dropout(seed) as Transformer's (LoRA only; no-op otherwise).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>

#include "baimo/model/lora.h"
#include "baimo/model/transformer.h"
#include "baimo/train/objective.h"

namespace baimo::train {

class ValueModel {
 public:
  static ValueModel full(const Transformer& policy, uint64_t seed);
  static ValueModel from_reward_model(Transformer rm, const ModelConfig& policy);
  static ValueModel lora(const Transformer& policy, const LoraConfig& lc, uint64_t seed);
  ValueModel(ValueModel&&) = default;

  ag::Var values(const Tensor& ids) const;  // I32 (B, T) -> (B*T)
  TrainModule module(bool weight_decay_all, bool decay_lora);
  void set_lora_dropout(std::optional<uint64_t> seed);
  bool is_lora() const { return adapter_ != nullptr; }
  const Transformer& trunk() const { return *trunk_; }

 private:
  ValueModel() = default;
  std::unique_ptr<Transformer> trunk_;     // own object (LoRA: shares the base's Vars)
  std::unique_ptr<LoraAdapter> adapter_;   // LoRA: the critic's adapter (stable address: attached)
  ag::Var score_;                          // (1, C): the trunk's score head (full) or its own (LoRA)
};

}  // namespace baimo::train
