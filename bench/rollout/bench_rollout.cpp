// bench_rollout: the batched rollout generator (infer/rollout.h generate_rollouts) on a model
// directory, for bench/rollout/run (the PyTorch anchor is torch_rollout.py).
//   Work:  `prompts` prompts of `prompt-len` ids each (id (1 + 131 p + 17 j) mod V, the same ids
//          torch_rollout.py builds), `samples` samples each, `new` tokens each through EOS
//          (ignore_eos: every repetition does the same work), temperature 1, `slots` slots.
//   Timer: generate_rollouts as a whole (scheduler and engine creation, prefill, decode), after one
//          warm-up call (8 new tokens); the weights are loaded outside.
//   Prints one JSON line per repetition: {"tokens": generated, "seconds": s, "reused": prompt
//          tokens whose K/V were copied}.
// --write-random CONFIG --vocab V --out DIR: writes Transformer::random(CONFIG with vocab V) as a
// model directory (the bench's bigger model; run copies the tokenizer beside it) and exits.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "baimo/infer/inference_model.h"
#include "baimo/infer/rollout.h"
#include "baimo/model/transformer.h"

using namespace baimo;

int main(int argc, char** argv) {
  CLI::App app("bench_rollout");
  std::string model, write_random, out;
  int64_t vocab = 0;
  int n_prompts = 16, prompt_len = 32, samples = 1, reps = 3, slots = 16, threads = 0;
  int new_tokens = 128;
  app.add_option("--model", model);
  app.add_option("--write-random", write_random);
  app.add_option("--vocab", vocab);
  app.add_option("--out", out);
  app.add_option("--prompts", n_prompts);
  app.add_option("--prompt-len", prompt_len);
  app.add_option("--samples", samples);
  app.add_option("--new", new_tokens);
  app.add_option("--reps", reps);
  app.add_option("--slots", slots);
  app.add_option("--threads", threads);
  CLI11_PARSE(app, argc, argv);
  try {
    if (!write_random.empty()) {
      ModelConfig c = load_model_config(write_random);
      if (vocab > 0) c.vocab_size = vocab;
      Transformer::random(c, 1).save(out);
      return 0;
    }
    const InferenceModel m = load_inference_model(model);
    const int64_t V = m.weights->config.vocab_size;
    std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(n_prompts));
    for (int p = 0; p < n_prompts; ++p)
      for (int j = 0; j < prompt_len; ++j) prompts[static_cast<size_t>(p)].push_back(static_cast<int32_t>((1 + 131 * p + 17 * j) % V));
    RolloutOptions o;
    o.slots = slots;
    o.ctx = prompt_len + new_tokens + 1;
    o.max_new_tokens = new_tokens;
    o.samples = samples;
    o.temperature = 1;
    o.ignore_eos = true;
    o.threads = threads;
    for (int rep = -1; rep < reps; ++rep) {
      o.seed = static_cast<uint64_t>(rep + 1) * 1000;
      o.max_new_tokens = rep < 0 ? std::min(new_tokens, 8) : new_tokens;  // a short warm-up
      RolloutStats st;
      generate_rollouts(m.weights, m.tokenizer, prompts, o, {}, &st);
      if (rep >= 0)
        std::printf("{\"tokens\": %lld, \"seconds\": %.6f, \"reused\": %lld}\n", static_cast<long long>(st.generated_tokens),
                    st.seconds, static_cast<long long>(st.reused_prompt_tokens));
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_rollout: %s\n", e.what());
    return 1;
  }
  return 0;
}
