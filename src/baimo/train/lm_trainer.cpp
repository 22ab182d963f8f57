#include "baimo/train/lm_trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/train/checkpoint.h"
#include "baimo/model/lm_loss.h"
#include "baimo/train/mfu.h"
#include "baimo/train/param_groups.h"
#include "baimo/util/error.h"

namespace baimo::train {

namespace {
// windows: (B, seq+1) -> ids (B, seq) and targets (B, seq) shifted by one.
void split_windows(const std::vector<int32_t>& windows, int64_t batch, int64_t seq, std::vector<int32_t>& ids,
                   std::vector<int32_t>& targets) {
  ids.resize(batch * seq);
  targets.resize(batch * seq);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq; ++t) {
      ids[b * seq + t] = windows[b * (seq + 1) + t];
      targets[b * seq + t] = windows[b * (seq + 1) + t + 1];
    }
}

// JSON has no NaN/inf: non-finite values are written as null.
std::string num(double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string("null"); }
std::string num(float v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string("null"); }
}  // namespace

LmTrainer::LmTrainer(Transformer& model, const TokenDataset& train, const TokenDataset* val, LmTrainOptions opts)
    : model_(model), train_(train), val_(val), opts_(std::move(opts)), guard_(opts_.spike) {
  const auto& o = opts_;
  if (o.steps < 1 || o.batch < 1 || o.seq < 1 || o.grad_accum < 1)
    fail("steps, batch, seq and grad_accum must be positive (got {}, {}, {}, {})", o.steps, o.batch, o.seq,
         o.grad_accum);
  if (o.seq > model.config().max_position_embeddings)
    fail("seq {} exceeds the model's max_position_embeddings {}", o.seq, model.config().max_position_embeddings);
  if (train.vocab_size() > model.config().vocab_size)
    fail("the data's vocabulary ({}) is larger than the model's ({})", train.vocab_size(), model.config().vocab_size);
  if (!(o.lr > 0) || o.min_lr < 0 || o.min_lr > o.lr) fail("need 0 <= min_lr <= lr and lr > 0");
  if (o.world < 1 || o.rank < 0 || o.rank >= o.world) fail("bad data-parallel rank {} of {}", o.rank, o.world);
  if (o.batch % o.world != 0) fail("batch {} must be a multiple of the number of ranks {}", o.batch, o.world);
  if (o.schedule == Schedule::Wsd && !(o.decay_fraction >= 0 && o.decay_fraction <= 1))
    fail("decay fraction {} must be within [0, 1]", o.decay_fraction);
  if (o.warmup > o.steps) fail("warmup {} exceeds steps {}", o.warmup, o.steps);

  opt_ = std::make_unique<AdamW>(adamw_groups(model_), AdamWConfig{o.beta1, o.beta2, 1e-8f, o.weight_decay});
  if (o.schedule == Schedule::Cosine) {
    schedule_ = LrSchedule::warmup_cosine(o.lr, o.warmup, o.steps, o.min_lr);
  } else {
    int64_t decay = static_cast<int64_t>(std::llround(o.decay_fraction * static_cast<double>(o.steps)));
    schedule_ = LrSchedule::warmup_stable_decay(o.lr, o.warmup, o.steps, std::min(decay, o.steps - o.warmup),
                                                o.min_lr);
  }
  params_ = model_.param_vars();
  sampler_ = std::make_unique<WindowSampler>(train_, o.seq, o.seed);
}

LmTrainer::~LmTrainer() {
  if (metrics_) std::fclose(metrics_);
}

float LmTrainer::evaluate() {
  const TokenDataset& data = val_ ? *val_ : train_;
  const int64_t seq = std::min<int64_t>(opts_.seq, static_cast<int64_t>(data.size()) - 1);
  WindowSampler sampler(data, seq, opts_.seed ^ 0x5eedULL);  // same windows at every evaluation
  // Data parallel: this rank's rows of every eval batch, then the mean over ranks.
  const int64_t rows = opts_.batch / opts_.world, row0 = opts_.rank * rows;
  std::vector<int32_t> windows(rows * (seq + 1)), ids, targets;
  ag::NoGradGuard no_grad;
  double total = 0;
  for (int64_t i = 0; i < opts_.eval_batches; ++i) {
    sampler.set_position(static_cast<uint64_t>(i * opts_.batch + row0));
    sampler.next_batch(rows, windows);
    split_windows(windows, rows, seq, ids, targets);
    Tensor ids_t = Tensor::from_ids({rows, seq}, ids), tg_t = Tensor::from_ids({rows, seq}, targets);
    total += lm_loss(model_, ids_t, tg_t).item();
    ag::reset_step();
  }
  float mean = static_cast<float>(total / std::max<int64_t>(1, opts_.eval_batches));
  if (opts_.allreduce_mean) opts_.allreduce_mean(&mean, 1);
  return mean;
}

// THE place where micro-batch windows are chosen. The global micro-batch is windows
// [base, base + batch) of the sampler's stream; this rank takes rows [rank*batch/world, ...).
void LmTrainer::draw_micro_batch(std::vector<int32_t>& ids, std::vector<int32_t>& targets, float& loss_scale) {
  const int64_t rows = opts_.batch / opts_.world, row0 = opts_.rank * rows;
  const uint64_t base = sampler_->position();
  windows_.resize(rows * (opts_.seq + 1));
  sampler_->set_position(base + row0);
  sampler_->next_batch(rows, windows_);
  sampler_->set_position(base + opts_.batch);
  split_windows(windows_, rows, opts_.seq, ids, targets);
  const bool poisoned = opts_.poison_end > opts_.poison_begin && base < opts_.poison_end &&
                        base + opts_.batch > opts_.poison_begin;
  loss_scale = poisoned ? opts_.poison_scale : 1.0f;
}

void LmTrainer::step_once(StepMetrics& m) {
  const auto& o = opts_;
  const int64_t rows = o.batch / o.world;
  std::vector<int32_t> ids, targets;
  opt_->zero_grad();
  double loss_sum = 0;
  for (int64_t micro = 0; micro < o.grad_accum; ++micro) {
    float scale = 1.0f;
    draw_micro_batch(ids, targets, scale);
    Tensor ids_t = Tensor::from_ids({rows, o.seq}, ids), tg_t = Tensor::from_ids({rows, o.seq}, targets);
    ag::Var loss = lm_loss(model_, ids_t, tg_t);
    ag::backward(loss, scale / static_cast<float>(o.grad_accum));
    loss_sum += static_cast<double>(loss.item()) * scale;
    ag::reset_step();
  }
  float loss = static_cast<float>(loss_sum / o.grad_accum);

  // ---- Gradients are complete here (every backward done, nothing clipped yet). ----
  // Data parallel: the mean over ranks of the flat gradients and of the loss.
  if (o.allreduce_mean) {
    size_t total = 1;
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
    o.allreduce_mean(flat_grads_.data(), flat_grads_.size());
    off = 0;
    for (const auto& p : params_) {
      bool accumulate = false;
      std::memcpy(p.grad_for_write(accumulate), flat_grads_.data() + off, p.numel() * sizeof(float));
      off += p.numel();
    }
    loss = flat_grads_[off];
  }

  m.loss = loss;
  m.grad_norm = clip_grad_norm(params_, o.clip);
  m.lr = schedule_.at(step_);
  const SpikeGuard::Verdict verdict = guard_.check(m.loss, m.grad_norm);
  ++step_;
  m.step = step_;
  if (verdict == SpikeGuard::Verdict::Ok) {
    opt_->step(m.lr);
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

void LmTrainer::run(const std::function<void(const StepMetrics&)>& on_step) {
  const auto& o = opts_;
  if (!metrics_opened_) open_metrics(std::nullopt);
  // A fresh run owns out_dir/checkpoints (stale ones would be rollback targets) and starts with a
  // step-0 checkpoint, the rollback target of early spikes; a resumed run keeps what is there.
  if (!resumed_ && !o.out_dir.empty() && is_root()) {
    clear_checkpoints(o.out_dir);
    save_checkpoint_now();
  }
  const double flops_per_token = train_flops_per_token(model_.config(), o.seq);
  const double step_tokens = static_cast<double>(o.batch * o.seq * o.grad_accum);
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
      m.has_val = true;
      m.val_loss = evaluate();
    }
    std::string line = fmt::format(R"({{"step": {}, "loss": {}, "lr": {}, "grad_norm": {}, "tokens_per_s": {:.1f}, )"
                                   R"("mfu": {:.5f}, "eta_s": {:.1f}, "elapsed_s": {:.3f})",
                                   m.step, num(m.loss), m.lr, num(m.grad_norm), m.tokens_per_s, m.mfu, m.eta_s,
                                   m.elapsed_s);
    if (m.skipped) line += fmt::format(R"(, "skipped": "{}")", m.skip_reason);
    if (m.has_val) line += fmt::format(R"(, "val_loss": {}, "val_ppl": {})", num(m.val_loss), num(std::exp(m.val_loss)));
    if (!m.rolled_back) write_metrics_line(line + "}");
    if (!o.out_dir.empty() && !m.rolled_back &&
        ((o.checkpoint_interval > 0 && step_ % o.checkpoint_interval == 0) || last))
      save_checkpoint_now();
    on_step(m);
    if (out_of_time) break;
  }
}

}  // namespace baimo::train
