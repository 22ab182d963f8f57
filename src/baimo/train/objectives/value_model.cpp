#include "baimo/train/objectives/value_model.h"

#include <algorithm>

#include "baimo/autograd/ops.h"
#include "baimo/model/reward_model.h"
#include "baimo/train/checkpoint.h"
#include "baimo/train/param_groups.h"
#include "baimo/util/error.h"

namespace baimo::train {

ValueModel ValueModel::full(const Transformer& policy, uint64_t seed) {
  ValueModel v;
  v.trunk_ = std::make_unique<Transformer>(make_reward_model(policy, seed));
  v.score_ = v.trunk_->score_weight();
  v.score_.value().fill(0.0f);  // every value 0 at the start
  return v;
}

ValueModel ValueModel::from_reward_model(Transformer rm, const ModelConfig& policy) {
  const ModelConfig& c = rm.config();
  if (!c.is_reward_model()) fail("the value model's start ({}) is not a reward model", c.architecture());
  if (c.vocab_size < policy.vocab_size)
    fail("the reward model's vocabulary ({} ids) does not cover the policy's ({} ids)", c.vocab_size,
         policy.vocab_size);
  if (c.max_position_embeddings < policy.max_position_embeddings)
    fail("the reward model's context ({}) is shorter than the policy's ({})", c.max_position_embeddings,
         policy.max_position_embeddings);
  ValueModel v;
  v.trunk_ = std::make_unique<Transformer>(std::move(rm));
  v.score_ = v.trunk_->score_weight();
  return v;
}

ValueModel ValueModel::lora(const Transformer& policy, const LoraConfig& lc, uint64_t seed) {
  ValueModel v;
  v.trunk_ = std::make_unique<Transformer>(policy);  // shallow: the same base Vars / frozen storage
  v.adapter_ = std::make_unique<LoraAdapter>(LoraAdapter::create(policy.config(), lc, seed));
  v.trunk_->attach_lora(v.adapter_.get());
  v.trunk_->set_base_trainable(false);
  v.score_ = ag::Var::leaf(Tensor::zeros(Shape{1, policy.config().hidden_size}), true, "score.weight");
  return v;
}

ag::Var ValueModel::values(const Tensor& ids) const {
  const ag::Var h = trunk_->hidden(ids);  // (B, T, C)
  const int64_t rows = ids.size(0) * ids.size(1), C = trunk_->config().hidden_size;
  return ag::reshape(ag::linear(ag::reshape(h, Shape{rows, C}), score_), Shape{rows});  // (B*T, 1) -> (B*T)
}

void ValueModel::set_lora_dropout(std::optional<uint64_t> seed) {
  if (adapter_) trunk_->set_lora_dropout(seed);
}

TrainModule ValueModel::module(bool weight_decay_all, bool decay_lora) {
  TrainModule m;
  m.name = "value";
  if (!adapter_) {
    CheckpointModule c = transformer_module("value", *trunk_, nullptr);
    m.params = std::move(c.params);
    m.groups = adamw_groups(*trunk_, weight_decay_all);
    m.save_dir = std::move(c.save_dir);
    m.load_dir = std::move(c.load_dir);
    return m;
  }
  for (const auto& p : adapter_->pairs) {
    m.params.emplace_back(p.spec.a_name, p.a);
    m.params.emplace_back(p.spec.b_name, p.b);
  }
  m.params.emplace_back("score.weight", score_);
  m.groups = lora_groups(*adapter_, decay_lora);
  m.groups.push_back(ParamGroup{{score_}, false});
  return m;
}

}  // namespace baimo::train
