#include "baimo/train/objectives/reward_model.h"

#include <numeric>

#include "baimo/autograd/ops.h"
#include "baimo/train/preference_loss.h"
#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

RewardObjective::RewardObjective(Transformer& model, LoraAdapter* adapter, std::span<const PreferenceExample> train,
                                 std::span<const PreferenceExample> held_out, PairObjectiveOptions opts,
                                 float center_coef)
    : PairObjective(model, adapter, train, held_out, std::move(opts)), center_coef_(center_coef) {
  if (!model.config().is_reward_model())
    fail("internal: the reward objective needs a model with a score head (make_reward_model)");
}

RewardObjective::PairLoss RewardObjective::pair_loss(const PreferenceRows& rows, std::span<const size_t>, bool) {
  const PreferenceTensors t = preference_tensors(rows);
  ag::Var r = model_.rewards(t.ids, &t.positions, &t.segments, t.last);  // (2P): chosen, then rejected
  const int64_t P = static_cast<int64_t>(rows.pairs);
  std::vector<int32_t> pick_chosen(2 * rows.pairs, -1), pick_rejected(2 * rows.pairs, -1);
  std::iota(pick_chosen.begin(), pick_chosen.begin() + P, 0);
  std::iota(pick_rejected.begin() + P, pick_rejected.end(), 0);
  const Shape shape{2 * P};
  ag::Var chosen = ag::segment_sum(r, Tensor::from_ids(shape, pick_chosen), P);
  ag::Var rejected = ag::segment_sum(r, Tensor::from_ids(shape, pick_rejected), P);
  ag::Var loss = bradley_terry_loss(chosen, rejected, center_coef_);
  const float* c = chosen.value().data<float>();
  const float* j = rejected.value().data<float>();
  double acc = 0, rc = 0, rr = 0;
  for (int64_t i = 0; i < P; ++i) {
    acc += c[i] > j[i] ? 1.0 : 0.0;
    rc += c[i];
    rr += j[i];
  }
  const double n = static_cast<double>(P);
  return {loss,
          {{"accuracy", static_cast<float>(acc / n)},
           {"margin", static_cast<float>((rc - rr) / n)},
           {"reward/chosen", static_cast<float>(rc / n)},
           {"reward/rejected", static_cast<float>(rr / n)}}};
}

std::vector<TrainModule> RewardObjective::extra_modules() {
  if (!adapter_) return {};  // the full model's module holds the head
  TrainModule m;
  m.name = "score";
  ag::Var w = model_.param("score.weight");
  m.params.emplace_back("score.weight", w);
  m.groups = {ParamGroup{{w}, false}};
  return {m};
}

json RewardObjective::extra_trajectory() const { return {{"objective", "reward_model"}, {"center", center_coef_}}; }

}  // namespace baimo::train
