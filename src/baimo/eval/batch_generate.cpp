#include "baimo/eval/batch_generate.h"

#include "baimo/infer/rollout.h"

namespace baimo::eval {

std::vector<std::vector<GeneratedSample>> batch_generate(std::shared_ptr<const ModelWeights> weights,
                                                         std::shared_ptr<const Tokenizer> tokenizer,
                                                         std::span<const std::vector<int32_t>> prompts,
                                                         const BatchGenerateOptions& o,
                                                         const std::function<void(int64_t)>& progress) {
  RolloutOptions r;
  r.slots = o.slots;
  r.ctx = o.ctx;
  r.max_new_tokens = o.max_tokens;
  r.samples = o.samples;
  r.temperature = o.temperature;
  r.repetition_penalty = o.repetition_penalty;
  r.seed = o.seed;
  r.stop = o.stop;
  r.eos_ids = o.eos_ids;
  r.threads = o.threads;
  const auto rollouts = generate_rollouts(std::move(weights), std::move(tokenizer), prompts, r, progress);
  std::vector<std::vector<GeneratedSample>> out(rollouts.size());
  for (size_t p = 0; p < rollouts.size(); ++p)
    for (const RolloutSample& s : rollouts[p]) {
      GeneratedSample g;
      g.text = s.text;
      g.tokens = static_cast<int64_t>(s.tokens.size());
      g.stopped = s.stopped;
      g.last_id = s.tokens.empty() ? -1 : s.tokens.back();
      out[p].push_back(std::move(g));
    }
  return out;
}

}  // namespace baimo::eval
