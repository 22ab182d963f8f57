#include "baimo/train/objectives/grpo.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "baimo/autograd/tape.h"
#include "baimo/data/seeded_permutation.h"
#include "baimo/data/sft_packing.h"
#include "baimo/train/mfu.h"
#include "baimo/train/rl_advantages.h"
#include "baimo/util/error.h"
#include "baimo/util/hash.h"

namespace baimo::train {

using json = nlohmann::json;

namespace {

json batch_json(const GrpoObjective::Batch& b) {
  json j = rollout_batch_json(b);
  j["advantages"] = b.advantages;
  return j;
}

GrpoObjective::Batch batch_from_json(const json& j, const std::string& where) {
  GrpoObjective::Batch b;
  static_cast<RolloutBatch&>(b) = rollout_batch_from_json(j, where);
  try {
    j.at("advantages").get_to(b.advantages);
  } catch (const json::exception& e) {
    fail("{}: field \"batch\" is not a rollout batch ({})", where, e.what());
  }
  if (b.advantages.size() != b.rows.size()) fail("{}: field \"batch\": sizes of the rollout batch disagree", where);
  return b;
}

}  // namespace

GrpoObjective::GrpoObjective(Transformer& model, LoraAdapter* adapter, std::shared_ptr<const Tokenizer> tokenizer,
                             std::span<const std::vector<int32_t>> train, std::span<const std::vector<int32_t>> held_out,
                             RewardFn reward, GrpoObjectiveOptions opts)
    : model_(model),
      adapter_(adapter),
      tokenizer_(std::move(tokenizer)),
      train_(train),
      held_out_(held_out),
      reward_(std::move(reward)),
      opts_(std::move(opts)) {
  const auto& o = opts_;
  if (o.prompts < 1 || o.grad_accum < 1 || o.iterations < 1)
    fail("prompts, grad_accum and iterations must be positive (got {}, {}, {})", o.prompts, o.grad_accum, o.iterations);
  if (o.group < 2) fail("group must be at least 2 (advantages are relative to the group), got {}", o.group);
  if (o.world < 1 || o.rank < 0 || o.rank >= o.world) fail("bad data-parallel rank {} of {}", o.rank, o.world);
  if (o.prompts % o.world != 0) fail("prompts {} must be a multiple of the number of ranks {}", o.prompts, o.world);
  if (o.prompts / o.world * o.group < o.grad_accum)
    fail("grad_accum {} exceeds the {} completions of a rank's batch", o.grad_accum, o.prompts / o.world * o.group);
  if (o.rollout.max_new_tokens < 1) fail("max_new_tokens must be positive, got {}", o.rollout.max_new_tokens);
  if (train_.empty()) fail("no training prompts");
  if (adapter_ && model_.lora() != adapter_) fail("internal: the LoRA adapter must be attached to the model");
  if (!reward_) fail("internal: GRPO needs a reward function");
  for (size_t i = 0; i < train_.size(); ++i)
    if (train_[i].empty() || static_cast<int64_t>(train_[i].size()) + o.rollout.max_new_tokens > o.rollout.ctx)
      fail("training prompt {} has {} tokens: with {} new tokens it needs 1 to {} (the context)", i, train_[i].size(),
           o.rollout.max_new_tokens, o.rollout.ctx - o.rollout.max_new_tokens);
  if (o.loss.beta > 0 && !adapter_) {
    // The reference of a full fine-tune: the start weights, copied once (LoRA: the base, adapter off).
    reference_ = copy_weights(model_);
  }
  micro_.resize(static_cast<size_t>(o.grad_accum));
  double prompt_tokens = 0;
  for (const auto& p : train_) prompt_tokens += static_cast<double>(p.size());
  mean_row_tokens_ = prompt_tokens / static_cast<double>(train_.size()) + o.rollout.max_new_tokens / 2.0;
}

GrpoObjective::~GrpoObjective() = default;

std::vector<TrainModule> GrpoObjective::modules() { return {finetune_module(model_, adapter_, opts_.module)}; }

// THE place where prompts are chosen and rollouts sampled.
void GrpoObjective::sample_batch() {
  const auto& o = opts_;
  const std::vector<size_t> prompt_ids = next_prompts(prompt_position_, train_.size(), o.prompts, o.rank, o.world, o.seed);
  RolloutOptions ro = o.rollout;
  ro.samples = static_cast<int>(o.group);
  ro.seed = mix_seed(mix_seed(o.seed, batches_), static_cast<uint64_t>(o.rank));
  Rollouts r = sample_rollouts(model_, adapter_, tokenizer_, train_, prompt_ids, ro);
  ++batches_;

  auto t0 = Clock::now();
  const RolloutRewards rewards = score_rollouts(reward_, r.batch.prompt_ids, r.samples, false);
  const double score_s = seconds_since(t0);
  GroupAdvantages adv = group_advantages(rewards.total, o.group, o.scale_rewards);
  Batch b;
  static_cast<RolloutBatch&>(b) = std::move(r.batch);
  b.advantages = std::move(adv.advantages);
  batch_ = std::move(b);

  t0 = Clock::now();
  if (o.loss.beta > 0) batch_.ref_logp = reference_logprobs(model_, adapter_, reference_.get(), batch_);
  if (o.iterations > 1) batch_.old_logp = completion_logprobs(model_, batch_, 0, batch_.rows.size());
  const double reference_s = seconds_since(t0);

  auto& m = batch_.metrics;
  add_reward_metrics(rewards, m);
  m.emplace_back("frac_reward_zero_std", static_cast<float>(adv.frac_zero_std));
  add_sample_metrics(r.samples, m);
  m.emplace_back("time/generate_s", static_cast<float>(r.generate_s));
  m.emplace_back("time/score_s", static_cast<float>(score_s));
  m.emplace_back("time/reference_s", static_cast<float>(reference_s));
  m.emplace_back("rollout_tokens_per_s", static_cast<float>(r.new_tokens / std::max(r.generate_s, 1e-9)));
  double row_tokens = 0;
  for (const auto& row : batch_.rows) row_tokens += static_cast<double>(row.size());
  mean_row_tokens_ = row_tokens / static_cast<double>(batch_.rows.size());
}

int64_t GrpoObjective::draw(int64_t micro) {
  if (micro == 0 && iteration_ == 0) sample_batch();
  const size_t n = batch_.rows.size(), ga = static_cast<size_t>(opts_.grad_accum);
  Micro& mb = micro_.at(static_cast<size_t>(micro));
  mb.begin = n * static_cast<size_t>(micro) / ga;
  mb.end = n * static_cast<size_t>(micro + 1) / ga;
  if (micro + 1 == opts_.grad_accum && ++iteration_ == opts_.iterations) iteration_ = 0;
  if (opts_.loss.norm != LossNorm::Dapo) return static_cast<int64_t>(mb.end - mb.begin);
  int64_t tokens = 0;
  for (size_t i = mb.begin; i < mb.end; ++i)
    tokens += static_cast<int64_t>(batch_.completion_tokens(i));
  return tokens;
}

MicroLoss GrpoObjective::forward(int64_t micro) {
  const Micro& mb = micro_.at(static_cast<size_t>(micro));
  if (adapter_)
    model_.set_lora_dropout(splitmix64(opts_.seed ^ splitmix64(batches_ * 1000003ULL + static_cast<uint64_t>(iteration_) * 1009ULL +
                                                               static_cast<uint64_t>(micro))));
  const LossRows r = loss_rows(batch_, mb.begin, mb.end);
  const Shape shape{r.b, r.t};
  const Tensor ids = Tensor::from_ids(shape, r.ids), targets = Tensor::from_ids(shape, r.targets);
  GrpoBatch gb;
  gb.n = r.b;
  gb.t = r.t;
  gb.logp = model_.token_logprobs(ids, targets, nullptr, nullptr, kIgnoreTarget);
  gb.old_logp = to_layout(batch_, batch_.old_logp, mb.begin, mb.end, r.t);
  gb.ref_logp = to_layout(batch_, batch_.ref_logp, mb.begin, mb.end, r.t);
  gb.advantages.assign(batch_.advantages.begin() + static_cast<ptrdiff_t>(mb.begin),
                       batch_.advantages.begin() + static_cast<ptrdiff_t>(mb.end));
  gb.mask = r.mask;
  GrpoOptions lo = opts_.loss;
  lo.scale = LossScale{};  // this micro-batch's own counts: the Trainer weighs micro-batches by draw()'s count
  lo.scale.max_completion_length = opts_.rollout.max_new_tokens;
  GrpoLoss l = grpo_loss(gb, lo);
  MicroLoss out{l.loss, batch_.metrics};
  out.metrics.emplace_back("kl", static_cast<float>(l.kl_mean));
  out.metrics.emplace_back("clip_ratio/low", static_cast<float>(l.metrics.low_clip));
  out.metrics.emplace_back("clip_ratio/high", static_cast<float>(l.metrics.high_clip));
  out.metrics.emplace_back("clip_ratio/region", static_cast<float>(l.metrics.region_clip));
  out.metrics.emplace_back("ratio_mean", static_cast<float>(l.metrics.ratio_mean));
  return out;
}

std::optional<float> GrpoObjective::evaluate() {
  if (held_out_.empty()) return std::nullopt;
  return static_cast<float>(
      -held_out_reward(model_, adapter_, tokenizer_, held_out_, opts_.eval_prompts, opts_.rollout, reward_, eval_metrics_));
}

json GrpoObjective::state() const {
  json s{{"prompt_position", prompt_position_}, {"batches", batches_}, {"iteration", iteration_}};
  if (iteration_ > 0) s["batch"] = batch_json(batch_);  // mid-batch: the rollouts the next steps train on
  return s;
}

json GrpoObjective::restore(const json& s, const std::string& where, bool rollback) {
  for (const char* key : {"prompt_position", "batches", "iteration"})
    if (!s.contains(key) || !s[key].is_number_integer() || s[key].get<int64_t>() < 0)
      fail("{}: field \"{}\" missing or not a non-negative integer", where, key);
  if (rollback)  // keep the data position: the prompts since the checkpoint are skipped
    return {{"skipped_prompts", json::array({s["prompt_position"].get<uint64_t>(), prompt_position_})}};
  prompt_position_ = s["prompt_position"].get<uint64_t>();
  batches_ = s["batches"].get<uint64_t>();
  iteration_ = s["iteration"].get<int64_t>();
  if (iteration_ >= opts_.iterations) fail("{}: \"iteration\" {} is not below iterations {}", where, iteration_, opts_.iterations);
  if (iteration_ > 0) {
    if (!s.contains("batch")) fail("{}: field \"batch\" missing (a checkpoint taken mid-batch)", where);
    batch_ = batch_from_json(s["batch"], where);
  }
  return json::object();
}

json GrpoObjective::trajectory() const {
  const auto& o = opts_;
  return {{"prompts", o.prompts},
          {"group", o.group},
          {"iterations", o.iterations},
          {"max_new_tokens", o.rollout.max_new_tokens},
          {"temperature", o.rollout.temperature},
          {"top_p", o.rollout.top_p},
          {"top_k", o.rollout.top_k},
          {"beta", o.loss.beta},
          {"loss_norm", loss_norm_name(o.loss.norm)},
          {"scale_rewards", o.scale_rewards},
          {"seed", o.seed},
          {"lora", adapter_ != nullptr},
          {"train_prompts", train_.size()}};
}

double GrpoObjective::tokens_per_micro_batch() const {
  return mean_row_tokens_ * static_cast<double>(opts_.prompts * opts_.group) / static_cast<double>(opts_.grad_accum);
}

double GrpoObjective::flops_per_token() const {
  const double full = train_flops_per_token(model_.config(), static_cast<int64_t>(mean_row_tokens_));
  return adapter_ ? full * 2.0 / 3.0 : full;
}

}  // namespace baimo::train
