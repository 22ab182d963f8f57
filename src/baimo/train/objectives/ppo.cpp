#include "baimo/train/objectives/ppo.h"

#include <algorithm>
#include <cmath>
#include <numeric>

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

// The completions `idx` of `b` as a batch of their own (the loss layout works on ranges).
PpoObjective::Batch select(const PpoObjective::Batch& b, const std::vector<size_t>& idx) {
  PpoObjective::Batch s;
  for (size_t i : idx) {
    s.rows.push_back(b.rows[i]);
    s.prompt_len.push_back(b.prompt_len[i]);
    s.old_logp.push_back(b.old_logp[i]);
    s.old_values.push_back(b.old_values[i]);
    s.advantages.push_back(b.advantages[i]);
    s.returns.push_back(b.returns[i]);
  }
  return s;
}

// Per-token values of every completion of `b` under the value model, no gradient.
std::vector<std::vector<float>> completion_values(const ValueModel& value, const RolloutBatch& b) {
  constexpr size_t kChunk = 16;
  std::vector<std::vector<float>> out;
  ag::NoGradGuard no_grad;
  for (size_t c = 0; c < b.rows.size(); c += kChunk) {
    const size_t end = std::min(b.rows.size(), c + kChunk);
    const LossRows r = loss_rows(b, c, end);
    const ag::Var v = value.values(Tensor::from_ids(Shape{r.b, r.t}, r.ids));
    for (auto& row : from_layout(b, v.value().data<float>(), c, end, r.t)) out.push_back(std::move(row));
    ag::reset_step();
  }
  return out;
}

json per_token_json(const std::vector<std::vector<float>>& v) { return v; }

void check_per_token(const RolloutBatch& b, const std::vector<std::vector<float>>& v, const char* name,
                     const std::string& where) {
  bool ok = v.size() == b.rows.size();
  for (size_t i = 0; ok && i < v.size(); ++i) ok = v[i].size() == b.completion_tokens(i);
  if (!ok) fail("{}: field \"batch\": \"{}\" does not match the rollouts", where, name);
}

}  // namespace

PpoObjective::PpoObjective(Transformer& model, LoraAdapter* adapter, ValueModel& value,
                           std::shared_ptr<const Tokenizer> tokenizer, std::span<const std::vector<int32_t>> train,
                           std::span<const std::vector<int32_t>> held_out, RewardFn reward, PpoObjectiveOptions opts)
    : model_(model),
      adapter_(adapter),
      value_(value),
      tokenizer_(std::move(tokenizer)),
      train_(train),
      held_out_(held_out),
      reward_(std::move(reward)),
      opts_(std::move(opts)),
      kl_(opts_.kl_coef, opts_.target_kl > 0 ? opts_.target_kl : 1.0f, opts_.kl_horizon) {
  const auto& o = opts_;
  if (o.prompts < 1 || o.samples < 1 || o.grad_accum < 1 || o.ppo_epochs < 1 || o.mini_batches < 1)
    fail("prompts, samples, grad_accum, ppo_epochs and mini_batches must be positive (got {}, {}, {}, {}, {})",
         o.prompts, o.samples, o.grad_accum, o.ppo_epochs, o.mini_batches);
  if (o.world < 1 || o.rank < 0 || o.rank >= o.world) fail("bad data-parallel rank {} of {}", o.rank, o.world);
  if (o.prompts % o.world != 0) fail("prompts {} must be a multiple of the number of ranks {}", o.prompts, o.world);
  const int64_t local = o.prompts / o.world * o.samples;
  if (local / o.mini_batches < o.grad_accum)
    fail("{} mini-batches x {} micro-batches exceed the {} answers of a rank's rollout batch", o.mini_batches,
         o.grad_accum, local);
  if (o.rollout.max_new_tokens < 1) fail("max_new_tokens must be positive, got {}", o.rollout.max_new_tokens);
  if (!(o.kl_coef >= 0)) fail("kl_coef must be >= 0, got {}", o.kl_coef);
  if (!(o.target_kl >= 0)) fail("target_kl must be >= 0 (0: a fixed kl_coef), got {}", o.target_kl);
  if (!(o.gamma >= 0 && o.gamma <= 1) || !(o.lambda >= 0 && o.lambda <= 1))
    fail("gamma and lambda must be within [0, 1] (got {}, {})", o.gamma, o.lambda);
  if (!(o.missing_eos_penalty >= 0)) fail("missing_eos_penalty must be >= 0, got {}", o.missing_eos_penalty);
  if (train_.empty()) fail("no training prompts");
  if (adapter_ && model_.lora() != adapter_) fail("internal: the LoRA adapter must be attached to the model");
  if (!reward_) fail("internal: PPO needs a reward function");
  for (size_t i = 0; i < train_.size(); ++i)
    if (train_[i].empty() || static_cast<int64_t>(train_[i].size()) + o.rollout.max_new_tokens > o.rollout.ctx)
      fail("training prompt {} has {} tokens: with {} new tokens it needs 1 to {} (the context)", i, train_[i].size(),
           o.rollout.max_new_tokens, o.rollout.ctx - o.rollout.max_new_tokens);
  if (!adapter_) reference_ = copy_weights(model_);
  double prompt_tokens = 0;
  for (const auto& p : train_) prompt_tokens += static_cast<double>(p.size());
  mean_row_tokens_ = prompt_tokens / static_cast<double>(train_.size()) + o.rollout.max_new_tokens / 2.0;
}

PpoObjective::~PpoObjective() = default;

std::vector<TrainModule> PpoObjective::modules() {
  return {finetune_module(model_, adapter_, opts_.module),
          value_.module(opts_.module.weight_decay_all, opts_.module.decay_lora)};
}

// THE place where prompts are chosen and rollouts sampled.
void PpoObjective::sample_batch() {
  const auto& o = opts_;
  const std::vector<size_t> prompt_ids = next_prompts(prompt_position_, train_.size(), o.prompts, o.rank, o.world, o.seed);
  RolloutOptions ro = o.rollout;
  ro.samples = static_cast<int>(o.samples);
  ro.seed = mix_seed(mix_seed(o.seed, batches_), static_cast<uint64_t>(o.rank));
  Rollouts r = sample_rollouts(model_, adapter_, tokenizer_, train_, prompt_ids, ro);
  ++batches_;

  auto t0 = Clock::now();
  const RolloutRewards rewards = score_rollouts(reward_, r.batch.prompt_ids, r.samples, false);
  const double score_s = seconds_since(t0);
  Batch b;
  static_cast<RolloutBatch&>(b) = std::move(r.batch);
  const size_t n = b.rows.size();
  b.scores = rewards.total;
  for (size_t i = 0; i < n; ++i)
    if (!r.samples[i].stopped) b.scores[i] -= o.missing_eos_penalty;  // the EOS trick
  const double score_mean = mean_of(b.scores);
  if (o.normalize_reward) {
    for (float s : b.scores) {
      moments_.count += 1;
      const double d = s - moments_.mean;
      moments_.mean += d / moments_.count;
      moments_.m2 += d * (s - moments_.mean);
    }
    const double sd = moments_.count > 1 ? std::sqrt(moments_.m2 / (moments_.count - 1)) : 1.0;
    for (float& s : b.scores) s = static_cast<float>((s - moments_.mean) / std::max(sd, 1e-8));
  }

  t0 = Clock::now();
  b.old_logp = completion_logprobs(model_, b, 0, n);
  b.ref_logp = reference_logprobs(model_, adapter_, reference_.get(), b);
  value_.set_lora_dropout(std::nullopt);
  b.old_values = completion_values(value_, b);
  const double reference_s = seconds_since(t0);

  // Token rewards, GAE and whitening over the whole (N, T) layout of this rank's batch.
  const LossRows lr = loss_rows(b, 0, n);
  const std::vector<float> old_l = to_layout(b, b.old_logp, 0, n, lr.t), ref_l = to_layout(b, b.ref_logp, 0, n, lr.t),
                           val_l = to_layout(b, b.old_values, 0, n, lr.t);
  const std::vector<float> kl = kl_values(old_l, ref_l, o.kl_estimator, lr.mask);
  const float coef = kl_.value();
  const std::vector<float> token_rewards = ppo_token_rewards(b.scores, kl, lr.mask, lr.b, lr.t, coef);
  Gae g = gae(token_rewards, val_l, lr.mask, lr.b, lr.t, o.gamma, o.lambda);
  if (o.whiten_advantages) g.advantages = masked_whiten(g.advantages, lr.mask);
  b.advantages = from_layout(b, g.advantages.data(), 0, n, lr.t);
  b.returns = from_layout(b, g.returns.data(), 0, n, lr.t);
  double kl_sum = 0;
  for (float k : kl) kl_sum += k;
  const double kl_mean = kl_sum / static_cast<double>(n);  // per answer: its summed kl

  auto& m = b.metrics;
  add_reward_metrics(rewards, m);
  m.emplace_back("score", static_cast<float>(score_mean));
  m.emplace_back("kl", static_cast<float>(kl_mean));
  m.emplace_back("non_score_reward", static_cast<float>(-coef * kl_mean));
  m.emplace_back("kl_coef", coef);
  add_sample_metrics(r.samples, m);
  m.emplace_back("time/generate_s", static_cast<float>(r.generate_s));
  m.emplace_back("time/score_s", static_cast<float>(score_s));
  m.emplace_back("time/reference_s", static_cast<float>(reference_s));
  m.emplace_back("rollout_tokens_per_s", static_cast<float>(r.new_tokens / std::max(r.generate_s, 1e-9)));
  if (o.target_kl > 0) kl_.update(kl_mean, o.prompts * o.samples);
  double row_tokens = 0;
  for (const auto& row : b.rows) row_tokens += static_cast<double>(row.size());
  mean_row_tokens_ = row_tokens / static_cast<double>(n);
  batch_ = std::move(b);
}

int64_t PpoObjective::draw(int64_t micro) {
  const auto& o = opts_;
  if (micro == 0) {
    if (step_ == 0) sample_batch();
    const size_t n = batch_.rows.size(), M = static_cast<size_t>(o.mini_batches), ga = static_cast<size_t>(o.grad_accum);
    const uint64_t epoch = static_cast<uint64_t>(step_ / o.mini_batches);
    const size_t mb = static_cast<size_t>(step_ % o.mini_batches);
    std::vector<size_t> order(n);
    if (M > 1)
      order = seeded_permutation(n, mix_seed(mix_seed(o.seed, batches_), epoch));
    else
      std::iota(order.begin(), order.end(), size_t{0});
    const size_t begin = n * mb / M, end = n * (mb + 1) / M, count = end - begin;
    micro_.assign(ga, {});
    for (size_t k = 0; k < ga; ++k)
      micro_[k].assign(order.begin() + static_cast<ptrdiff_t>(begin + count * k / ga),
                       order.begin() + static_cast<ptrdiff_t>(begin + count * (k + 1) / ga));
    forward_seed_ = splitmix64(o.seed ^ splitmix64(batches_ * 1000003ULL + static_cast<uint64_t>(step_) * 1009ULL));
  }
  if (micro + 1 == o.grad_accum && ++step_ == o.ppo_epochs * o.mini_batches) step_ = 0;
  int64_t tokens = 0;
  for (size_t i : micro_.at(static_cast<size_t>(micro))) tokens += static_cast<int64_t>(batch_.completion_tokens(i));
  return tokens;
}

MicroLoss PpoObjective::forward(int64_t micro) {
  const Batch sub = select(batch_, micro_.at(static_cast<size_t>(micro)));
  const uint64_t seed = splitmix64(forward_seed_ + static_cast<uint64_t>(micro));
  if (adapter_) model_.set_lora_dropout(seed);
  value_.set_lora_dropout(splitmix64(seed ^ 0x76616c7565ULL));
  const size_t n = sub.rows.size();
  const LossRows r = loss_rows(sub, 0, n);
  const Shape shape{r.b, r.t};
  const Tensor ids = Tensor::from_ids(shape, r.ids), targets = Tensor::from_ids(shape, r.targets);
  PpoBatch pb;
  pb.n = r.b;
  pb.t = r.t;
  pb.logp = model_.token_logprobs(ids, targets, nullptr, nullptr, kIgnoreTarget);
  pb.values = value_.values(ids);
  pb.old_logp = to_layout(sub, sub.old_logp, 0, n, r.t);
  pb.advantages = to_layout(sub, sub.advantages, 0, n, r.t);
  pb.old_values = to_layout(sub, sub.old_values, 0, n, r.t);
  pb.returns = to_layout(sub, sub.returns, 0, n, r.t);
  pb.mask = r.mask;
  PpoOptions lo = opts_.loss;
  lo.norm = LossNorm::Dapo;
  lo.scale = LossScale{};  // this micro-batch's own tokens: the Trainer weighs micro-batches by draw()'s count
  PpoLoss l = ppo_loss(pb, lo);
  MicroLoss out{l.loss, batch_.metrics};
  out.metrics.emplace_back("policy_loss", l.policy_loss.item());
  out.metrics.emplace_back("value_loss", l.value_loss.item());
  out.metrics.emplace_back("clip_ratio", static_cast<float>(l.metrics.region_clip));
  out.metrics.emplace_back("ratio_mean", static_cast<float>(l.metrics.ratio_mean));
  out.metrics.emplace_back("value_clip_frac", static_cast<float>(l.value_clip_frac));
  return out;
}

std::optional<float> PpoObjective::evaluate() {
  if (held_out_.empty()) return std::nullopt;
  return static_cast<float>(
      -held_out_reward(model_, adapter_, tokenizer_, held_out_, opts_.eval_prompts, opts_.rollout, reward_, eval_metrics_));
}

json PpoObjective::state() const {
  json s{{"prompt_position", prompt_position_},
         {"batches", batches_},
         {"step", step_},
         {"kl_coef", kl_.value()},
         {"reward_moments", {moments_.count, moments_.mean, moments_.m2}}};
  if (step_ > 0) {  // mid-batch: the rollouts the next steps train on
    json b = rollout_batch_json(batch_);
    b["scores"] = batch_.scores;
    b["old_values"] = per_token_json(batch_.old_values);
    b["advantages"] = per_token_json(batch_.advantages);
    b["returns"] = per_token_json(batch_.returns);
    s["batch"] = std::move(b);
  }
  return s;
}

json PpoObjective::restore(const json& s, const std::string& where, bool rollback) {
  for (const char* key : {"prompt_position", "batches", "step"})
    if (!s.contains(key) || !s[key].is_number_integer() || s[key].get<int64_t>() < 0)
      fail("{}: field \"{}\" missing or not a non-negative integer", where, key);
  if (!s.contains("kl_coef") || !s["kl_coef"].is_number() || !(s["kl_coef"].get<double>() >= 0))
    fail("{}: field \"kl_coef\" missing or not a non-negative number", where);
  if (!s.contains("reward_moments") || !s["reward_moments"].is_array() || s["reward_moments"].size() != 3)
    fail("{}: field \"reward_moments\" missing or not [count, mean, m2]", where);
  if (rollback)  // keep the data position: the prompts since the checkpoint are skipped
    return {{"skipped_prompts", json::array({s["prompt_position"].get<uint64_t>(), prompt_position_})}};
  const int64_t step = s["step"].get<int64_t>();
  if (step >= opts_.ppo_epochs * opts_.mini_batches)
    fail("{}: \"step\" {} is not below ppo_epochs x mini_batches = {}", where, step, opts_.ppo_epochs * opts_.mini_batches);
  Batch b;
  if (step > 0) {
    if (!s.contains("batch")) fail("{}: field \"batch\" missing (a checkpoint taken mid-batch)", where);
    const json& j = s["batch"];
    static_cast<RolloutBatch&>(b) = rollout_batch_from_json(j, where);
    try {
      j.at("scores").get_to(b.scores);
      j.at("old_values").get_to(b.old_values);
      j.at("advantages").get_to(b.advantages);
      j.at("returns").get_to(b.returns);
    } catch (const json::exception& e) {
      fail("{}: field \"batch\" is not a PPO rollout batch ({})", where, e.what());
    }
    if (b.scores.size() != b.rows.size()) fail("{}: field \"batch\": \"scores\" does not match the rollouts", where);
    check_per_token(b, b.old_logp, "old_logp", where);
    check_per_token(b, b.old_values, "old_values", where);
    check_per_token(b, b.advantages, "advantages", where);
    check_per_token(b, b.returns, "returns", where);
  }
  prompt_position_ = s["prompt_position"].get<uint64_t>();
  batches_ = s["batches"].get<uint64_t>();
  step_ = step;
  kl_ = AdaptiveKlController(s["kl_coef"].get<float>(), opts_.target_kl > 0 ? opts_.target_kl : 1.0f, opts_.kl_horizon);
  const json& mo = s["reward_moments"];
  moments_ = {mo[0].get<double>(), mo[1].get<double>(), mo[2].get<double>()};
  if (step > 0) batch_ = std::move(b);
  return json::object();
}

json PpoObjective::trajectory() const {
  const auto& o = opts_;
  return {{"prompts", o.prompts},
          {"samples", o.samples},
          {"ppo_epochs", o.ppo_epochs},
          {"mini_batches", o.mini_batches},
          {"max_new_tokens", o.rollout.max_new_tokens},
          {"temperature", o.rollout.temperature},
          {"top_p", o.rollout.top_p},
          {"top_k", o.rollout.top_k},
          {"kl_coef", o.kl_coef},
          {"target_kl", o.target_kl},
          {"kl_estimator", kl_estimator_name(o.kl_estimator)},
          {"gamma", o.gamma},
          {"lambda", o.lambda},
          {"missing_eos_penalty", o.missing_eos_penalty},
          {"normalize_reward", o.normalize_reward},
          {"whiten_advantages", o.whiten_advantages},
          {"vf_coef", o.loss.vf_coef},
          {"cliprange", o.loss.clip.eps_low},
          {"cliprange_value", o.loss.value_clip},
          {"seed", o.seed},
          {"lora", adapter_ != nullptr},
          {"value_lora", value_.is_lora()},
          {"train_prompts", train_.size()}};
}

double PpoObjective::tokens_per_micro_batch() const {
  return mean_row_tokens_ * static_cast<double>(opts_.prompts * opts_.samples) /
         static_cast<double>(opts_.mini_batches * opts_.grad_accum);
}

double PpoObjective::flops_per_token() const {
  const double full = train_flops_per_token(model_.config(), static_cast<int64_t>(mean_row_tokens_));
  return 2 * (adapter_ ? full * 2.0 / 3.0 : full);  // the policy and the value model
}

}  // namespace baimo::train
