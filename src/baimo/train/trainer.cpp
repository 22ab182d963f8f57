#include "baimo/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "baimo/autograd/tape.h"
#include "baimo/util/error.h"

namespace baimo::train {

namespace {
// JSON has no NaN/inf: non-finite values are written as null.
std::string num(double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string("null"); }
std::string num(float v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string("null"); }

int64_t wsd_decay_steps(const TrainerOptions& o) {
  int64_t decay = static_cast<int64_t>(std::llround(o.decay_fraction * static_cast<double>(o.steps)));
  return std::min(decay, o.steps - o.warmup);
}
}  // namespace

LrSchedule make_schedule(const TrainerOptions& o) {
  if (o.schedule == Schedule::Cosine) return LrSchedule::warmup_cosine(o.lr, o.warmup, o.steps, o.min_lr);
  return LrSchedule::warmup_stable_decay(o.lr, o.warmup, o.steps, wsd_decay_steps(o), o.min_lr);
}

int64_t decay_start(const TrainerOptions& o) {
  return o.schedule == Schedule::Wsd ? o.steps - wsd_decay_steps(o) : 0;
}

Trainer::Trainer(Objective& objective, TrainerOptions opts)
    : obj_(objective), opts_(std::move(opts)), guard_(opts_.spike) {
  if (!obj_.loss_has_scale()) {  // e.g. a policy-gradient loss around 0: only non-finite values are spikes
    opts_.spike.factor = 0;
    guard_ = SpikeGuard(opts_.spike);
  }
  const auto& o = opts_;
  if (o.steps < 1 || o.grad_accum < 1) fail("steps and grad_accum must be positive (got {}, {})", o.steps, o.grad_accum);
  if (!(o.lr > 0) || o.min_lr < 0 || o.min_lr > o.lr) fail("need 0 <= min_lr <= lr and lr > 0");
  if (o.world < 1 || o.rank < 0 || o.rank >= o.world) fail("bad data-parallel rank {} of {}", o.rank, o.world);
  if (o.world > 1 && (!o.allreduce_mean || !o.allreduce_sum))
    fail("data parallel over {} ranks needs allreduce_mean and allreduce_sum", o.world);
  if (o.schedule == Schedule::Wsd && !(o.decay_fraction >= 0 && o.decay_fraction <= 1))
    fail("decay fraction {} must be within [0, 1]", o.decay_fraction);
  if (o.warmup > o.steps) fail("warmup {} exceeds steps {}", o.warmup, o.steps);
  schedule_ = make_schedule(o);
  modules_ = obj_.modules();
  for (const auto& m : modules_) {
    if (m.groups.empty()) {
      opts_per_module_.push_back(nullptr);
      continue;
    }
    opts_per_module_.push_back(
        std::make_unique<AdamW>(m.groups, AdamWConfig{o.beta1, o.beta2, 1e-8f, o.weight_decay}));
    for (const auto& g : m.groups) params_.insert(params_.end(), g.params.begin(), g.params.end());
  }
  if (params_.empty()) fail("the objective has no trainable parameters");
}

Trainer::~Trainer() {
  if (metrics_) std::fclose(metrics_);
}

const AdamW& Trainer::optimizer(size_t i) const {
  for (const auto& opt : opts_per_module_)
    if (opt && i-- == 0) return *opt;
  fail("no trainable module {}", i);
}

std::optional<float> Trainer::evaluate(std::vector<std::pair<std::string, float>>* metrics) {
  std::optional<float> v = obj_.evaluate();
  if (!v) return v;
  std::vector<std::pair<std::string, float>> named = obj_.eval_metrics();
  std::vector<float> values{*v};
  for (const auto& m : named) values.push_back(m.second);
  if (opts_.allreduce_mean) opts_.allreduce_mean(values.data(), values.size());
  for (size_t i = 0; i < named.size(); ++i) named[i].second = values[i + 1];
  if (metrics) *metrics = std::move(named);
  return values[0];
}

std::optional<float> Trainer::evaluate_before_training(std::vector<std::pair<std::string, float>>* metrics) {
  std::vector<std::pair<std::string, float>> named;
  std::optional<float> v = evaluate(&named);
  if (v) {
    if (!metrics_opened_) open_metrics(std::nullopt);
    write_metrics_line(fmt::format(R"({{"event": "eval", "step": {})", step_) + val_fields(*v, named) + "}");
  }
  if (metrics) *metrics = std::move(named);
  return v;
}

std::string Trainer::val_fields(float loss, const std::vector<std::pair<std::string, float>>& metrics) const {
  std::string s = fmt::format(R"(, "val_loss": {})", num(loss));
  if (obj_.token_loss()) s += fmt::format(R"(, "val_ppl": {})", num(std::exp(loss)));
  for (const auto& [name, v] : metrics) s += fmt::format(R"(, "val_{}": {})", name, num(v));
  return s;
}

void Trainer::compute_gradients(StepMetrics& m) {
  const auto& o = opts_;
  // Draw every micro-batch first: the normaliser (all loss terms of the global batch) is known before
  // any backward, so each backward carries its final weight and no pass over the gradients is added.
  std::vector<int64_t> counts(static_cast<size_t>(o.grad_accum));
  double local = 0;
  for (int64_t micro = 0; micro < o.grad_accum; ++micro) {
    counts[micro] = obj_.draw(micro);
    if (counts[micro] < 0) fail("objective: micro-batch {} has a negative count of loss terms", micro);
    local += static_cast<double>(counts[micro]);
  }
  double global = local;
  if (o.allreduce_sum) o.allreduce_sum(&global, 1);
  if (!(global > 0)) fail("objective: step {} has no loss terms in any micro-batch", step_ + 1);
  // Rank r's backward weight: count * world / global, so that the mean over ranks is count / global.
  const float denom = static_cast<float>(global);
  for (auto& opt : opts_per_module_)
    if (opt) opt->zero_grad();
  double loss_sum = 0;
  std::vector<std::pair<std::string, double>> metric_sums;
  for (int64_t micro = 0; micro < o.grad_accum; ++micro) {
    if (counts[micro] == 0) continue;
    MicroLoss out = obj_.forward(micro);
    const float weight = static_cast<float>(counts[micro] * o.world) / denom;
    ag::backward(out.loss, weight);
    const double w = static_cast<double>(counts[micro]) * o.world;
    loss_sum += static_cast<double>(out.loss.item()) * w;
    if (metric_sums.empty())
      for (const auto& [name, v] : out.metrics) metric_sums.emplace_back(name, 0.0);
    if (out.metrics.size() != metric_sums.size()) fail("objective: micro-batches return different metrics");
    for (size_t i = 0; i < out.metrics.size(); ++i) metric_sums[i].second += static_cast<double>(out.metrics[i].second) * w;
    ag::reset_step();
  }
  float loss = static_cast<float>(loss_sum / global);
  m.metrics.clear();
  for (const auto& [name, s] : metric_sums) m.metrics.emplace_back(name, static_cast<float>(s / global));

  // ---- Gradients are complete here (every backward done, nothing clipped yet). ----
  // Data parallel: the mean over ranks of the flat gradients, the loss and the metrics.
  if (o.allreduce_mean) {
    size_t total = 1 + m.metrics.size();
    for (const auto& p : params_) total += p.numel();
    flat_grads_.resize(total);
    size_t off = 0;
    for (const auto& p : params_) {
      if (p.has_grad())
        std::memcpy(flat_grads_.data() + off, p.node()->grad.data<float>(), p.numel() * sizeof(float));
      else
        std::memset(flat_grads_.data() + off, 0, p.numel() * sizeof(float));
      off += p.numel();
    }
    flat_grads_[off] = loss;
    for (size_t i = 0; i < m.metrics.size(); ++i) flat_grads_[off + 1 + i] = m.metrics[i].second;
    o.allreduce_mean(flat_grads_.data(), flat_grads_.size());
    off = 0;
    for (const auto& p : params_) {
      bool accumulate = false;
      std::memcpy(p.grad_for_write(accumulate), flat_grads_.data() + off, p.numel() * sizeof(float));
      off += p.numel();
    }
    loss = flat_grads_[off];
    for (size_t i = 0; i < m.metrics.size(); ++i) m.metrics[i].second = flat_grads_[off + 1 + i];
  }
  m.loss = loss;
}

void Trainer::step_once(StepMetrics& m) {
  const auto& o = opts_;
  compute_gradients(m);
  if (o.edit_gradients) o.edit_gradients();
  m.grad_norm = clip_grad_norm(params_, o.clip);
  m.lr = schedule_.at(step_);
  const SpikeGuard::Verdict verdict = guard_.check(m.loss, m.grad_norm);
  ++step_;
  m.step = step_;
  if (verdict == SpikeGuard::Verdict::Ok) {
    for (auto& opt : opts_per_module_)
      if (opt) opt->step(m.lr);
    guard_.accept(m.loss);
    return;
  }
  m.skipped = true;
  m.skip_reason = verdict_name(verdict);
  const int64_t in_a_row = guard_.reject();
  write_metrics_line(fmt::format(R"({{"event": "skip", "step": {}, "reason": "{}", "loss": {}, "grad_norm": {}, )"
                                 R"("running_mean": {}, "consecutive": {}}})",
                                 m.step, m.skip_reason, num(m.loss), num(m.grad_norm), num(guard_.mean()), in_a_row));
  if (o.spike.patience > 0 && in_a_row >= o.spike.patience) rollback(m);
}

void Trainer::run(const std::function<void(const StepMetrics&)>& on_step) {
  const auto& o = opts_;
  if (!metrics_opened_) open_metrics(std::nullopt);
  // A fresh run owns out_dir/checkpoints (stale ones would be rollback targets) and starts with a
  // step-0 checkpoint, the rollback target of early spikes; a resumed run keeps what is there.
  if (!resumed_ && !o.out_dir.empty() && is_root()) {
    clear_checkpoints(o.out_dir);
    save_checkpoint_now();
  }
  const double flops_per_token = obj_.flops_per_token();
  const double step_tokens = obj_.tokens_per_micro_batch() * static_cast<double>(o.grad_accum);
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  int64_t steps_here = 0;
  while (step_ < o.steps) {
    auto t0 = std::chrono::steady_clock::now();
    StepMetrics m;
    step_once(m);
    ++steps_here;
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    m.tokens_per_s = step_tokens / dt;
    m.mfu = o.peak_gflops > 0 ? flops_per_token * m.tokens_per_s / (o.peak_gflops * 1e9) : 0;
    m.elapsed_s = elapsed();
    m.eta_s = m.elapsed_s / steps_here * static_cast<double>(o.steps - step_);
    bool out_of_time = o.time_budget_s > 0 && m.elapsed_s >= o.time_budget_s;
    if (o.allreduce_mean && o.time_budget_s > 0) {  // every rank stops at the same step
      float any = out_of_time ? 1.0f : 0.0f;
      o.allreduce_mean(&any, 1);
      out_of_time = any > 0;
    }
    if (o.time_budget_s > 0) m.eta_s = std::min(m.eta_s, std::max(0.0, o.time_budget_s - m.elapsed_s));
    const bool last = step_ >= o.steps || out_of_time;
    if ((o.eval_interval > 0 && m.step % o.eval_interval == 0 && !m.rolled_back) || last) {
      if (auto v = evaluate(&m.val_metrics)) {
        m.has_val = true;
        m.val_loss = *v;
      }
    }
    std::string line = fmt::format(R"({{"step": {}, "loss": {}, "lr": {}, "grad_norm": {}, "tokens_per_s": {:.1f}, )"
                                   R"("mfu": {:.5f}, "eta_s": {:.1f}, "elapsed_s": {:.3f}, "tokens": {:.0f})",
                                   m.step, num(m.loss), m.lr, num(m.grad_norm), m.tokens_per_s, m.mfu, m.eta_s,
                                   m.elapsed_s, static_cast<double>(m.step) * step_tokens);
    for (const auto& [name, v] : m.metrics) line += fmt::format(R"(, "{}": {})", name, num(v));
    if (m.skipped) line += fmt::format(R"(, "skipped": "{}")", m.skip_reason);
    if (m.has_val) line += val_fields(m.val_loss, m.val_metrics);
    if (!m.rolled_back) write_metrics_line(line + "}");
    if (!o.out_dir.empty() && !m.rolled_back &&
        ((o.checkpoint_interval > 0 && step_ % o.checkpoint_interval == 0) || last))
      save_checkpoint_now();
    on_step(m);
    if (out_of_time) break;
  }
}

}  // namespace baimo::train
