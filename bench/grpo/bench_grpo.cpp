// bench_grpo: full GRPO steps (generate, score, train) of baimo's GRPO objective through the Trainer,
// on a model directory, for bench/grpo/run (the PyTorch anchor is torch_grpo.py, the same step).
//   Work per step: `prompts` prompts of `prompt-len` ids (id (1 + 131 p + 17 j) mod V, as
//          ../rollout/torch_rollout.py builds them) x `group` samples, `new` tokens each through EOS
//          (ignore_eos: every step does the same work), temperature 1; reward = the share of a
//          sample's tokens with an even id; group advantages; the policy's log-probs with gradient,
//          the reference's (a copy of the start weights) without, the GRPO loss (clip 0.2, beta 0.04,
//          grpo normalisation), backward, global-norm clipping at 1, AdamW (lr 1e-6).
//   Timer: each step (Trainer::run's callback), after `warmup` steps; the load is outside.
//   Prints one JSON line: {"step_seconds": [s, ...], "tokens_per_step": generated tokens per step}.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "baimo/model/transformer.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/train/objectives/grpo.h"
#include "baimo/train/trainer.h"

using namespace baimo;

int main(int argc, char** argv) {
  CLI::App app("bench_grpo");
  std::string model;
  int n_prompts = 4, prompt_len = 32, group = 8, new_tokens = 64, steps = 3, warmup = 1, threads = 0;
  app.add_option("--model", model)->required();
  app.add_option("--prompts", n_prompts);
  app.add_option("--prompt-len", prompt_len);
  app.add_option("--group", group);
  app.add_option("--new", new_tokens);
  app.add_option("--steps", steps);
  app.add_option("--warmup", warmup);
  app.add_option("--threads", threads);
  CLI11_PARSE(app, argc, argv);
  try {
    Transformer policy = Transformer::load(model);
    auto tokenizer = std::make_shared<const Tokenizer>(Tokenizer::from_tokenizer_json_file(model + "/tokenizer.json"));
    const int64_t V = policy.config().vocab_size;
    std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(n_prompts));
    for (int p = 0; p < n_prompts; ++p)
      for (int j = 0; j < prompt_len; ++j) prompts[static_cast<size_t>(p)].push_back(static_cast<int32_t>((1 + 131 * p + 17 * j) % V));
    auto even_share = [](std::span<const size_t>, std::span<const RolloutSample> samples, bool) {
      train::RolloutRewards r;
      for (const RolloutSample& s : samples) {
        double even = 0;
        for (int32_t id : s.tokens) even += id % 2 == 0;
        r.total.push_back(static_cast<float>(even / static_cast<double>(s.tokens.size())));
      }
      return r;
    };
    train::GrpoObjectiveOptions o;
    o.prompts = n_prompts;
    o.group = group;
    o.rollout.slots = n_prompts * group;
    o.rollout.ctx = prompt_len + new_tokens + 1;
    o.rollout.max_new_tokens = new_tokens;
    o.rollout.ignore_eos = true;
    o.rollout.threads = threads;
    o.loss.beta = 0.04f;
    o.seed = 1;
    train::GrpoObjective objective(policy, nullptr, tokenizer, prompts, {}, even_share, o);
    train::TrainerOptions t;
    t.steps = warmup + steps;
    t.lr = t.min_lr = 1e-6f;
    t.warmup = 0;
    t.weight_decay = 0;
    t.beta2 = 0.999f;
    t.eval_interval = 0;
    train::Trainer trainer(objective, t);
    std::vector<double> seconds;
    auto last = std::chrono::steady_clock::now();
    trainer.run([&](const train::StepMetrics& m) {
      const auto now = std::chrono::steady_clock::now();
      if (m.step > warmup) seconds.push_back(std::chrono::duration<double>(now - last).count());
      last = now;
    });
    std::string list;
    for (double s : seconds) list += (list.empty() ? "" : ", ") + std::to_string(s);
    std::printf("{\"step_seconds\": [%s], \"tokens_per_step\": %d}\n", list.c_str(), n_prompts * group * new_tokens);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_grpo: %s\n", e.what());
    return 1;
  }
  return 0;
}
