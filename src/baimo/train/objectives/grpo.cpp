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

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Rows [begin, end) of `rows` as the loss sees them: ids (B, T) = row[0 .. len-2] (padded with 0),
// targets (B, T) = row[t + 1] where that is a completion token, else kIgnoreTarget; T = the longest
// row - 1. Completion token i of row b sits at column prompt_len[b] - 1 + i.
struct LossRows {
  int64_t b = 0, t = 0;
  std::vector<int32_t> ids, targets;
  std::vector<float> mask;  // (B, T): 1 at completion tokens
};
LossRows loss_rows(const GrpoObjective::Batch& batch, size_t begin, size_t end) {
  LossRows r;
  r.b = static_cast<int64_t>(end - begin);
  for (size_t i = begin; i < end; ++i) r.t = std::max<int64_t>(r.t, static_cast<int64_t>(batch.rows[i].size()) - 1);
  const size_t T = static_cast<size_t>(r.t);
  r.ids.assign(static_cast<size_t>(r.b) * T, 0);
  r.targets.assign(static_cast<size_t>(r.b) * T, kIgnoreTarget);
  r.mask.assign(static_cast<size_t>(r.b) * T, 0.0f);
  for (size_t i = begin; i < end; ++i) {
    const std::vector<int32_t>& row = batch.rows[i];
    const size_t base = (i - begin) * T;
    for (size_t t = 0; t + 1 < row.size(); ++t) {
      r.ids[base + t] = row[t];
      if (t + 1 >= batch.prompt_len[i]) {
        r.targets[base + t] = row[t + 1];
        r.mask[base + t] = 1.0f;
      }
    }
  }
  return r;
}

// Per-completion values (one vector per row, one value per completion token) laid out (B, T) as
// loss_rows does; empty in, empty out.
std::vector<float> to_layout(const GrpoObjective::Batch& batch, const std::vector<std::vector<float>>& per_row,
                             size_t begin, size_t end, int64_t t) {
  if (per_row.empty()) return {};
  std::vector<float> out((end - begin) * static_cast<size_t>(t), 0.0f);
  for (size_t i = begin; i < end; ++i) {
    const size_t base = (i - begin) * static_cast<size_t>(t) + batch.prompt_len[i] - 1;
    std::copy(per_row[i].begin(), per_row[i].end(), out.begin() + static_cast<ptrdiff_t>(base));
  }
  return out;
}

double mean_of(std::span<const float> v) {
  double s = 0;
  for (float x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// Rollout summaries shared by training batches and the held-out evaluation.
void add_sample_metrics(std::span<const RolloutSample> samples, std::vector<std::pair<std::string, float>>& m) {
  double tokens = 0, stopped = 0;
  for (const RolloutSample& s : samples) {
    tokens += static_cast<double>(s.tokens.size());
    stopped += s.stopped ? 1 : 0;
  }
  const double n = std::max<double>(1, static_cast<double>(samples.size()));
  m.emplace_back("completion_length", static_cast<float>(tokens / n));
  m.emplace_back("stop_share", static_cast<float>(stopped / n));
}

json batch_json(const GrpoObjective::Batch& b) {
  json metrics = json::array();
  for (const auto& [k, v] : b.metrics) metrics.push_back({k, v});
  return {{"prompt_ids", b.prompt_ids}, {"rows", b.rows},         {"prompt_len", b.prompt_len},
          {"advantages", b.advantages}, {"old_logp", b.old_logp}, {"ref_logp", b.ref_logp},
          {"metrics", metrics}};
}

GrpoObjective::Batch batch_from_json(const json& j, const std::string& where) {
  try {
    GrpoObjective::Batch b;
    j.at("prompt_ids").get_to(b.prompt_ids);
    j.at("rows").get_to(b.rows);
    j.at("prompt_len").get_to(b.prompt_len);
    j.at("advantages").get_to(b.advantages);
    j.at("old_logp").get_to(b.old_logp);
    j.at("ref_logp").get_to(b.ref_logp);
    for (const json& m : j.at("metrics")) b.metrics.emplace_back(m.at(0).get<std::string>(), m.at(1).get<float>());
    const size_t n = b.rows.size();
    if (b.prompt_ids.size() != n || b.prompt_len.size() != n || b.advantages.size() != n)
      fail("sizes of the rollout batch disagree");
    return b;
  } catch (const json::exception& e) {
    fail("{}: field \"batch\" is not a rollout batch ({})", where, e.what());
  }
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
    reference_ = std::make_unique<Transformer>(model_.config());
    for (const Transformer::Param& p : reference_->params()) {
      ag::Var v = p.var;  // a handle: the reference's own storage
      v.value().copy_from(model_.param(p.spec.name).value());
    }
  }
  micro_.resize(static_cast<size_t>(o.grad_accum));
  double prompt_tokens = 0;
  for (const auto& p : train_) prompt_tokens += static_cast<double>(p.size());
  mean_row_tokens_ = prompt_tokens / static_cast<double>(train_.size()) + o.rollout.max_new_tokens / 2.0;
}

GrpoObjective::~GrpoObjective() = default;

std::vector<TrainModule> GrpoObjective::modules() { return {finetune_module(model_, adapter_, opts_.module)}; }

std::vector<std::vector<float>> GrpoObjective::completion_logprobs(const Transformer& model, size_t begin, size_t end) {
  constexpr size_t kChunk = 16;  // rows per no-gradient forward
  std::vector<std::vector<float>> out;
  out.reserve(end - begin);
  ag::NoGradGuard no_grad;
  for (size_t c = begin; c < end; c += kChunk) {
    const size_t c_end = std::min(end, c + kChunk);
    const LossRows r = loss_rows(batch_, c, c_end);
    const Shape shape{r.b, r.t};
    const Tensor ids = Tensor::from_ids(shape, r.ids), targets = Tensor::from_ids(shape, r.targets);
    const ag::Var lp = model.token_logprobs(ids, targets, nullptr, nullptr, kIgnoreTarget);
    const float* v = lp.value().data<float>();
    for (size_t i = c; i < c_end; ++i) {
      const size_t first = (i - c) * static_cast<size_t>(r.t) + batch_.prompt_len[i] - 1;
      const size_t n = batch_.rows[i].size() - batch_.prompt_len[i];
      out.emplace_back(v + first, v + first + n);
    }
    ag::reset_step();
  }
  return out;
}

// THE place where prompts are chosen and rollouts sampled.
void GrpoObjective::sample_batch() {
  const auto& o = opts_;
  const int64_t local = o.prompts / o.world;
  std::vector<size_t> prompt_ids(static_cast<size_t>(local));
  const size_t n_train = train_.size();
  std::vector<size_t> order;
  uint64_t order_epoch = UINT64_MAX;
  for (int64_t p = 0; p < local; ++p) {
    const uint64_t pos = prompt_position_ + static_cast<uint64_t>(o.rank * local + p);
    if (pos / n_train != order_epoch) {
      order_epoch = pos / n_train;
      order = seeded_permutation(n_train, mix_seed(o.seed, order_epoch));
    }
    prompt_ids[static_cast<size_t>(p)] = order[pos % n_train];
  }
  prompt_position_ += static_cast<uint64_t>(o.prompts);

  // Generation on the engine over the live weights (dropout off: the policy as it is).
  auto t0 = Clock::now();
  if (adapter_) model_.set_lora_dropout(std::nullopt);
  auto weights = std::make_shared<const ModelWeights>(live_weights(model_));
  std::vector<std::vector<int32_t>> prompts;
  for (size_t id : prompt_ids) prompts.push_back(train_[id]);
  RolloutOptions ro = o.rollout;
  ro.samples = static_cast<int>(o.group);
  ro.seed = mix_seed(mix_seed(o.seed, batches_), static_cast<uint64_t>(o.rank));
  std::vector<std::vector<RolloutSample>> groups = generate_rollouts(weights, tokenizer_, prompts, ro);
  weights.reset();
  const double generate_s = seconds_since(t0);
  ++batches_;

  Batch b;
  std::vector<RolloutSample> flat;
  double new_tokens = 0;
  for (size_t p = 0; p < groups.size(); ++p)
    for (RolloutSample& s : groups[p]) {
      b.prompt_ids.push_back(prompt_ids[p]);
      b.prompt_len.push_back(prompts[p].size());
      std::vector<int32_t> row = prompts[p];
      row.insert(row.end(), s.tokens.begin(), s.tokens.end());
      b.rows.push_back(std::move(row));
      new_tokens += static_cast<double>(s.tokens.size());
      flat.push_back(std::move(s));
    }
  for (const RolloutSample& s : flat)
    if (s.tokens.empty()) fail("internal: a rollout without tokens");

  t0 = Clock::now();
  RolloutRewards rewards = reward_(b.prompt_ids, flat, false);
  if (rewards.total.size() != flat.size())
    fail("the reward function gave {} rewards for {} samples", rewards.total.size(), flat.size());
  for (size_t i = 0; i < rewards.total.size(); ++i)
    if (!std::isfinite(rewards.total[i])) fail("the reward of sample {} is not a finite number ({})", i, rewards.total[i]);
  const double score_s = seconds_since(t0);
  GroupAdvantages adv = group_advantages(rewards.total, o.group, o.scale_rewards);
  b.advantages = std::move(adv.advantages);
  batch_ = std::move(b);

  t0 = Clock::now();
  if (o.loss.beta > 0) {
    if (adapter_) {
      model_.attach_lora(nullptr);  // the base alone is the reference
      batch_.ref_logp = completion_logprobs(model_, 0, batch_.rows.size());
      model_.attach_lora(adapter_);
    } else {
      batch_.ref_logp = completion_logprobs(*reference_, 0, batch_.rows.size());
    }
  }
  if (o.iterations > 1) batch_.old_logp = completion_logprobs(model_, 0, batch_.rows.size());
  const double reference_s = seconds_since(t0);

  auto& m = batch_.metrics;
  const double mean = mean_of(rewards.total);
  double var = 0;
  for (float r : rewards.total) var += (r - mean) * (r - mean);
  m.emplace_back("reward", static_cast<float>(mean));
  m.emplace_back("reward_std", static_cast<float>(std::sqrt(var / std::max<double>(1, rewards.total.size() - 1.0))));
  for (const auto& [name, values] : rewards.parts) m.emplace_back("reward/" + name, static_cast<float>(mean_of(values)));
  m.emplace_back("frac_reward_zero_std", static_cast<float>(adv.frac_zero_std));
  add_sample_metrics(flat, m);
  m.emplace_back("time/generate_s", static_cast<float>(generate_s));
  m.emplace_back("time/score_s", static_cast<float>(score_s));
  m.emplace_back("time/reference_s", static_cast<float>(reference_s));
  m.emplace_back("rollout_tokens_per_s", static_cast<float>(new_tokens / std::max(generate_s, 1e-9)));
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
    tokens += static_cast<int64_t>(batch_.rows[i].size() - batch_.prompt_len[i]);
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
  size_t n = held_out_.size();
  if (opts_.eval_prompts > 0) n = std::min(n, static_cast<size_t>(opts_.eval_prompts));
  if (adapter_) model_.set_lora_dropout(std::nullopt);
  auto weights = std::make_shared<const ModelWeights>(live_weights(model_));
  RolloutOptions ro = opts_.rollout;
  ro.samples = 1;
  ro.temperature = 0;
  std::vector<std::vector<RolloutSample>> out = generate_rollouts(weights, tokenizer_, held_out_.first(n), ro);
  weights.reset();
  std::vector<RolloutSample> flat;
  std::vector<size_t> ids;
  for (size_t p = 0; p < out.size(); ++p) {
    ids.push_back(p);
    flat.push_back(std::move(out[p].at(0)));
  }
  const RolloutRewards rewards = reward_(ids, flat, true);
  if (rewards.total.size() != flat.size())
    fail("the reward function gave {} rewards for {} held-out samples", rewards.total.size(), flat.size());
  const float mean = static_cast<float>(mean_of(rewards.total));
  eval_metrics_ = {{"reward", mean}};
  for (const auto& [name, values] : rewards.parts)
    eval_metrics_.emplace_back("reward/" + name, static_cast<float>(mean_of(values)));
  add_sample_metrics(flat, eval_metrics_);
  return -mean;
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
