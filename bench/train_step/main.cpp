// bench_train_step: baimo's side of bench/train_step (the runner script alternates it with the
// PyTorch anchor). One full training step = forward, cross-entropy, backward, global-norm
// clipping, AdamW, on random tokens, for a model config at batch x seq.
// --lora-r R > 0: LoRA (r = R, alpha = 2R) on all seven linear targets of the frozen model instead;
// the step trains the adapter only. --unfused: the loss as cross_entropy of the full (B, T, V)
// logits instead of lm_loss's fused head + loss (for comparisons).
// Prints one JSON line: {"tokens_per_s": median over timed steps, "peak_rss_mb": ..., "loss": ...}.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include <CLI/CLI.hpp>

#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/model/lm_loss.h"
#include "baimo/model/transformer.h"
#include "baimo/train/optimizer.h"
#include "baimo/train/param_groups.h"
#include "baimo/util/process_env.h"
#include "baimo/util/error.h"

extern "C" void openblas_set_num_threads(int);

int main(int argc, char** argv) {
  using namespace baimo;
  prepare_process_env(argv, {cpu::preferred_blas_coretype()});
  std::string config;
  int64_t batch = 8, seq = 256;
  int steps = 3, warmup = 1, threads = 2;
  int64_t lora_r = 0;
  bool print_coretype = false;
  CLI::App app{"baimo training-step benchmark (one side of bench/train_step/run)"};
  app.add_option("--config", config, "Model config.json");
  app.add_option("--batch", batch);
  app.add_option("--seq", seq);
  app.add_option("--steps", steps, "Timed steps");
  app.add_option("--warmup", warmup, "Untimed steps first");
  app.add_option("--threads", threads);
  bool unfused = false;
  app.add_flag("--unfused", unfused, "Loss as cross_entropy(logits) (full (B, T, V) logits) instead of the fused lm_loss");
  app.add_option("--lora-r", lora_r, "LoRA rank on all targets of a frozen base (default 0: full fine-tune)");
  app.add_flag("--print-blas-coretype", print_coretype, "Print the OpenBLAS kernel baimo uses and exit");
  CLI11_PARSE(app, argc, argv);
  if (print_coretype) {
    const char* c = cpu::preferred_blas_coretype();
    std::printf("%s\n", c ? c : "");
    return 0;
  }
  try {
    if (config.empty()) fail("--config is required");
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    ModelConfig cfg = load_model_config(config);
    Transformer model = Transformer::random(cfg, 0);
    // The anchor decays every parameter; do the same work.
    LoraAdapter adapter;
    if (lora_r > 0) {
      LoraConfig lc;
      lc.r = lora_r;
      lc.alpha = 2.0f * static_cast<float>(lora_r);
      adapter = LoraAdapter::create(cfg, lc, 1);
      model.set_base_trainable(false);
      model.attach_lora(&adapter);
    }
    train::AdamW opt(lora_r > 0 ? train::lora_groups(adapter, true) : train::adamw_groups(model, /*decay_all=*/true),
                     {0.9f, 0.95f, 1e-8f, 0.1f});
    std::vector<ag::Var> params;
    for (const auto& g : opt.groups()) params.insert(params.end(), g.params.begin(), g.params.end());
    std::mt19937 rng(1);
    std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(cfg.vocab_size - 1));
    std::vector<int32_t> ids(batch * seq), targets(batch * seq);
    std::vector<double> times;
    float loss_value = 0;
    for (int step = 0; step < warmup + steps; ++step) {
      for (int64_t b = 0; b < batch; ++b) {
        int32_t prev = tok(rng);
        for (int64_t t = 0; t < seq; ++t) {
          int32_t next = tok(rng);
          ids[b * seq + t] = prev;
          targets[b * seq + t] = next;
          prev = next;
        }
      }
      Tensor ids_t = Tensor::from_ids({batch, seq}, ids), targets_t = Tensor::from_ids({batch, seq}, targets);
      auto t0 = std::chrono::steady_clock::now();
      opt.zero_grad();
      ag::Var loss = unfused ? ag::cross_entropy(model.logits(ids_t), targets_t) : lm_loss(model, ids_t, targets_t);
      ag::backward(loss);
      train::clip_grad_norm(params, 1.0f);
      opt.step(1e-4f);
      loss_value = loss.item();
      ag::reset_step();
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (step >= warmup) times.push_back(dt);
    }
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    if (times.size() % 2 == 0) median = (times[times.size() / 2 - 1] + times[times.size() / 2]) / 2;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("{\"tokens_per_s\": %.3f, \"peak_rss_mb\": %.1f, \"loss\": %.6f}\n", batch * seq / median,
                ru.ru_maxrss / 1024.0, loss_value);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_train_step: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
