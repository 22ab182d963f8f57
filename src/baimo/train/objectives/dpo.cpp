#include "baimo/train/objectives/dpo.h"

#include <algorithm>

#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/util/error.h"

namespace baimo::train {

using json = nlohmann::json;

PairLogps pair_logps(const Transformer& model, const PreferenceRows& rows) {
  const PreferenceTensors t = preference_tensors(rows);
  ag::Var lp = model.token_logprobs(t.ids, t.targets, &t.positions, &t.segments, kIgnoreTarget);
  const int64_t P = static_cast<int64_t>(rows.pairs);
  return {ag::segment_sum(lp, t.chosen_group, P), ag::segment_sum(lp, t.rejected_group, P)};
}

DpoObjective::DpoObjective(Transformer& model, LoraAdapter* adapter, std::span<const PreferenceExample> train,
                           std::span<const PreferenceExample> held_out, PairObjectiveOptions opts,
                           PreferenceLossOptions loss)
    : PairObjective(model, adapter, train, held_out, std::move(opts)), loss_(loss) {
  if (!needs_reference(loss_.type)) return;
  ref_train_ = reference_logps(train_);
  ref_held_out_ = reference_logps(held_out_);
}

DpoObjective::ReferenceLogps DpoObjective::reference_logps(std::span<const PreferenceExample> examples) {
  ReferenceLogps ref;
  const LoraAdapter* attached = model_.lora();
  if (attached) model_.attach_lora(nullptr);  // the base alone is the reference
  ag::NoGradGuard no_grad;
  std::vector<size_t> ids;
  for (size_t begin = 0; begin < examples.size(); begin += static_cast<size_t>(opts_.batch)) {
    const size_t n = std::min(examples.size() - begin, static_cast<size_t>(opts_.batch));
    ids.resize(n);
    for (size_t i = 0; i < n; ++i) ids[i] = begin + i;
    PairLogps lp = pair_logps(model_, pack(examples, ids));
    const float* c = lp.chosen.value().data<float>();
    const float* r = lp.rejected.value().data<float>();
    ref.chosen.insert(ref.chosen.end(), c, c + n);
    ref.rejected.insert(ref.rejected.end(), r, r + n);
    ag::reset_step();
  }
  if (attached) model_.attach_lora(attached);
  return ref;
}

std::pair<std::vector<float>, std::vector<float>> DpoObjective::reference_of(std::span<const size_t> ids) const {
  std::pair<std::vector<float>, std::vector<float>> out;
  if (!needs_reference(loss_.type)) return out;
  for (size_t i : ids) {
    out.first.push_back(ref_train_.chosen.at(i));
    out.second.push_back(ref_train_.rejected.at(i));
  }
  return out;
}

DpoObjective::PairLoss DpoObjective::pair_loss(const PreferenceRows& rows, std::span<const size_t> ids, bool held_out) {
  PairLogps lp = pair_logps(model_, rows);
  PreferenceBatch b;
  b.chosen_logps = lp.chosen;
  b.rejected_logps = lp.rejected;
  b.chosen_tokens = rows.chosen_tokens;
  b.rejected_tokens = rows.rejected_tokens;
  if (needs_reference(loss_.type)) {
    const ReferenceLogps& ref = held_out ? ref_held_out_ : ref_train_;
    for (size_t i : ids) {
      b.ref_chosen.push_back(ref.chosen.at(i));
      b.ref_rejected.push_back(ref.rejected.at(i));
    }
  }
  PreferenceLossResult r = preference_loss(b, loss_);
  const size_t P = rows.pairs;
  double rc = 0, rr = 0, acc = 0, lc = 0, lr = 0, nll = 0;
  const float* c = lp.chosen.value().data<float>();
  const float* j = lp.rejected.value().data<float>();
  for (size_t i = 0; i < P; ++i) {
    rc += r.chosen_rewards[i];
    rr += r.rejected_rewards[i];
    acc += r.chosen_rewards[i] > r.rejected_rewards[i] ? 1.0 : 0.0;
    lc += c[i];
    lr += j[i];
    nll -= c[i] / rows.chosen_tokens[i];
  }
  const double n = static_cast<double>(P);
  PairLoss out{r.loss,
               {{"rewards/chosen", static_cast<float>(rc / n)},
                {"rewards/rejected", static_cast<float>(rr / n)},
                {"rewards/accuracies", static_cast<float>(acc / n)},
                {"rewards/margins", static_cast<float>((rc - rr) / n)},
                {"logps/chosen", static_cast<float>(lc / n)},
                {"logps/rejected", static_cast<float>(lr / n)}}};
  if (loss_.rpo_alpha > 0) out.metrics.push_back({"nll_loss", static_cast<float>(nll / n)});
  return out;
}

json DpoObjective::extra_trajectory() const {
  return {{"objective", "dpo"},
          {"loss", preference_loss_name(loss_.type)},
          {"beta", loss_.beta},
          {"rpo_alpha", loss_.rpo_alpha}};
}

}  // namespace baimo::train
