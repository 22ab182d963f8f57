#include "baimo/train/objectives/pair_objective.h"

#include <algorithm>

#include "baimo/autograd/tape.h"
#include "baimo/data/seeded_permutation.h"
#include "baimo/train/mfu.h"
#include "baimo/util/error.h"
#include "baimo/util/hash.h"

namespace baimo::train {

using json = nlohmann::json;

PairObjective::PairObjective(Transformer& model, LoraAdapter* adapter, std::span<const PreferenceExample> train,
                             std::span<const PreferenceExample> held_out, PairObjectiveOptions opts)
    : model_(model), adapter_(adapter), train_(train), held_out_(held_out), opts_(std::move(opts)) {
  const auto& o = opts_;
  if (o.batch < 1 || o.grad_accum < 1) fail("batch and grad_accum must be positive (got {}, {})", o.batch, o.grad_accum);
  if (o.world < 1 || o.rank < 0 || o.rank >= o.world) fail("bad data-parallel rank {} of {}", o.rank, o.world);
  if (o.batch % o.world != 0) fail("batch {} must be a multiple of the number of ranks {}", o.batch, o.world);
  if (static_cast<int64_t>(o.seq) > model.config().max_position_embeddings)
    fail("max_len {} exceeds the model's max_position_embeddings {}", o.seq, model.config().max_position_embeddings);
  if (train_.empty()) fail("no training pairs left (all held out or skipped)");
  if (adapter_ && model_.lora() != adapter_) fail("internal: the LoRA adapter must be attached to the model");
  micro_.resize(static_cast<size_t>(o.grad_accum));
  size_t tokens = 0;
  for (const PreferenceExample& e : train_) tokens += 2 * e.prompt.size() + e.chosen.size() + e.rejected.size();
  pair_tokens_ = static_cast<double>(tokens) / static_cast<double>(train_.size());
}

std::vector<TrainModule> PairObjective::modules() {
  std::vector<TrainModule> m{finetune_module(model_, adapter_, opts_.module)};
  for (TrainModule& extra : extra_modules()) m.push_back(std::move(extra));
  return m;
}

size_t PairObjective::stream_pair(uint64_t position) const {
  const uint64_t epoch = position / train_.size();
  if (epoch != order_epoch_) {
    order_ = seeded_permutation(train_.size(), mix_seed(opts_.seed, epoch));
    order_epoch_ = epoch;
  }
  return order_[position % train_.size()];
}

PreferenceRows PairObjective::pack(std::span<const PreferenceExample> examples, std::span<const size_t> ids) const {
  return pack_preference_rows(examples, ids, opts_.seq, opts_.pad_id, opts_.seed);
}

// THE place where pairs are chosen: the global micro-batch is pairs [position, position + batch) of
// the stream; this rank takes its share.
int64_t PairObjective::draw(int64_t micro) {
  const int64_t share = opts_.batch / opts_.world;
  Micro& mb = micro_.at(static_cast<size_t>(micro));
  mb.first_pair = position_;
  mb.ids.clear();
  for (int64_t i = 0; i < share; ++i)
    mb.ids.push_back(stream_pair(position_ + static_cast<uint64_t>(opts_.rank * share + i)));
  mb.rows = pack(train_, mb.ids);
  position_ += static_cast<uint64_t>(opts_.batch);
  return share;
}

MicroLoss PairObjective::forward(int64_t micro) {
  const Micro& mb = micro_.at(static_cast<size_t>(micro));
  if (adapter_) model_.set_lora_dropout(splitmix64(opts_.seed ^ splitmix64(mb.first_pair)));
  PairLoss l = pair_loss(mb.rows, mb.ids, false);
  return {l.loss, std::move(l.metrics)};
}

std::optional<float> PairObjective::evaluate() {
  eval_metrics_.clear();
  if (held_out_.empty()) return std::nullopt;
  if (adapter_) model_.set_lora_dropout(std::nullopt);
  ag::NoGradGuard no_grad;
  double loss_sum = 0;
  std::vector<double> sums;
  std::vector<size_t> ids;
  for (size_t begin = 0; begin < held_out_.size(); begin += static_cast<size_t>(opts_.batch)) {
    const size_t n = std::min(held_out_.size() - begin, static_cast<size_t>(opts_.batch));
    ids.resize(n);
    for (size_t i = 0; i < n; ++i) ids[i] = begin + i;
    PairLoss l = pair_loss(pack(held_out_, ids), ids, true);
    loss_sum += static_cast<double>(l.loss.item()) * static_cast<double>(n);
    if (eval_metrics_.empty()) {
      eval_metrics_ = l.metrics;
      sums.assign(l.metrics.size(), 0.0);
    }
    for (size_t m = 0; m < l.metrics.size(); ++m) sums[m] += static_cast<double>(l.metrics[m].second) * static_cast<double>(n);
    ag::reset_step();
  }
  const double total = static_cast<double>(held_out_.size());
  for (size_t m = 0; m < eval_metrics_.size(); ++m) eval_metrics_[m].second = static_cast<float>(sums[m] / total);
  return static_cast<float>(loss_sum / total);
}

json PairObjective::state() const { return {{"pair_position", position_}}; }

json PairObjective::restore(const json& s, const std::string& where, bool rollback) {
  if (!s.contains("pair_position") || !s["pair_position"].is_number_integer() || s["pair_position"].get<int64_t>() < 0)
    fail("{}: field \"pair_position\" missing or not a non-negative integer", where);
  const uint64_t saved = s["pair_position"].get<uint64_t>();
  if (!rollback) {
    position_ = saved;
    return json::object();
  }
  return {{"skipped_pairs", json::array({saved, position_})}};
}

json PairObjective::trajectory() const {
  json t = {{"batch", opts_.batch},
            {"max_len", opts_.seq},
            {"seed", opts_.seed},
            {"lora", adapter_ != nullptr},
            {"train_pairs", train_.size()}};
  t.update(extra_trajectory());
  return t;
}

double PairObjective::tokens_per_micro_batch() const {
  return pair_tokens_ * static_cast<double>(opts_.batch);
}

double PairObjective::flops_per_token() const {
  // LoRA skips the base's weight gradients: forward + input gradients, about 2/3 of a full step.
  const double full = train_flops_per_token(model_.config(), static_cast<int64_t>(opts_.seq));
  return adapter_ ? full * 2.0 / 3.0 : full;
}

}  // namespace baimo::train
