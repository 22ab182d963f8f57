#include "baimo/train/lm_trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/model/lm_loss.h"
#include "baimo/train/optimizer.h"
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
}  // namespace

LmTrainer::LmTrainer(Transformer& model, const TokenDataset& train, const TokenDataset* val, LmTrainOptions opts)
    : model_(model), train_(train), val_(val), opts_(std::move(opts)) {
  const auto& o = opts_;
  if (o.steps < 1 || o.batch < 1 || o.seq < 1 || o.grad_accum < 1)
    fail("steps, batch, seq and grad_accum must be positive (got {}, {}, {}, {})", o.steps, o.batch, o.seq,
         o.grad_accum);
  if (o.seq > model.config().max_position_embeddings)
    fail("seq {} exceeds the model's max_position_embeddings {}", o.seq, model.config().max_position_embeddings);
  if (train.vocab_size() > model.config().vocab_size)
    fail("the data's vocabulary ({}) is larger than the model's ({})", train.vocab_size(), model.config().vocab_size);
  if (!(o.lr > 0) || o.min_lr < 0 || o.min_lr > o.lr) fail("need 0 <= min_lr <= lr and lr > 0");
}

float LmTrainer::evaluate() {
  const TokenDataset& data = val_ ? *val_ : train_;
  const int64_t seq = std::min<int64_t>(opts_.seq, static_cast<int64_t>(data.size()) - 1);
  WindowSampler sampler(data, seq, opts_.seed ^ 0x5eedULL);  // same windows at every evaluation
  std::vector<int32_t> windows(opts_.batch * (seq + 1)), ids, targets;
  ag::NoGradGuard no_grad;
  double total = 0;
  for (int64_t i = 0; i < opts_.eval_batches; ++i) {
    sampler.next_batch(opts_.batch, windows);
    split_windows(windows, opts_.batch, seq, ids, targets);
    Tensor ids_t = Tensor::from_ids({opts_.batch, seq}, ids), tg_t = Tensor::from_ids({opts_.batch, seq}, targets);
    total += lm_loss(model_, ids_t, tg_t).item();
    ag::reset_step();
  }
  return static_cast<float>(total / std::max<int64_t>(1, opts_.eval_batches));
}

void LmTrainer::run(const std::function<void(const StepMetrics&)>& on_step) {
  const auto& o = opts_;
  AdamW opt(adamw_groups(model_), {o.beta1, o.beta2, 1e-8f, o.weight_decay});
  LrSchedule schedule = LrSchedule::warmup_cosine(o.lr, o.warmup, o.steps, o.min_lr);
  std::vector<ag::Var> params = model_.param_vars();
  WindowSampler sampler(train_, o.seq, o.seed);
  std::vector<int32_t> windows(o.batch * (o.seq + 1)), ids, targets;

  std::FILE* metrics = nullptr;
  if (!o.out_dir.empty()) {
    std::filesystem::create_directories(o.out_dir);
    auto path = (std::filesystem::path(o.out_dir) / "metrics.jsonl").string();
    metrics = std::fopen(path.c_str(), "w");
    if (!metrics) fail("cannot write {}", path);
  }
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  for (int64_t step = 0; step < o.steps; ++step) {
    auto t0 = std::chrono::steady_clock::now();
    opt.zero_grad();
    double loss_sum = 0;
    for (int64_t micro = 0; micro < o.grad_accum; ++micro) {
      sampler.next_batch(o.batch, windows);
      split_windows(windows, o.batch, o.seq, ids, targets);
      Tensor ids_t = Tensor::from_ids({o.batch, o.seq}, ids), tg_t = Tensor::from_ids({o.batch, o.seq}, targets);
      ag::Var loss = lm_loss(model_, ids_t, tg_t);
      ag::backward(loss, 1.0f / o.grad_accum);
      loss_sum += loss.item();
      ag::reset_step();
    }
    StepMetrics m;
    m.step = step + 1;
    m.loss = static_cast<float>(loss_sum / o.grad_accum);
    m.grad_norm = clip_grad_norm(params, o.clip);
    m.lr = schedule.at(step);
    opt.step(m.lr);
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    m.tokens_per_s = o.batch * o.seq * o.grad_accum / dt;
    m.elapsed_s = elapsed();
    bool out_of_time = o.time_budget_s > 0 && m.elapsed_s >= o.time_budget_s;
    bool last = step + 1 == o.steps || out_of_time;
    if ((o.eval_interval > 0 && m.step % o.eval_interval == 0) || last) {
      m.has_val = true;
      m.val_loss = evaluate();
    }
    if (metrics) {
      std::string line = fmt::format(R"({{"step": {}, "loss": {:.6f}, "lr": {:.6g}, "grad_norm": {:.6f}, )"
                                     R"("tokens_per_s": {:.1f}, "elapsed_s": {:.3f})",
                                     m.step, m.loss, m.lr, m.grad_norm, m.tokens_per_s, m.elapsed_s);
      if (m.has_val) line += fmt::format(R"(, "val_loss": {:.6f}, "val_ppl": {:.4f})", m.val_loss, std::exp(m.val_loss));
      line += "}\n";
      std::fputs(line.c_str(), metrics);
      std::fflush(metrics);
    }
    on_step(m);
    if (out_of_time) break;
  }
  if (metrics) std::fclose(metrics);
}

}  // namespace baimo::train
