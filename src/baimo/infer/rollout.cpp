#include "baimo/infer/rollout.h"

#include <chrono>

#include "baimo/infer/batch_scheduler.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

void check_inputs(std::span<const std::vector<int32_t>> prompts, const RolloutOptions& o) {
  if (o.samples < 1) fail("rollouts: samples must be >= 1, got {}", o.samples);
  if (o.slots < 1) fail("rollouts: slots must be >= 1, got {}", o.slots);
  if (o.max_new_tokens < 1) fail("rollouts: max_new_tokens must be >= 1, got {}", o.max_new_tokens);
  for (size_t p = 0; p < prompts.size(); ++p)
    if (prompts[p].empty() || static_cast<int64_t>(prompts[p].size()) >= o.ctx)
      fail("prompt {} has {} tokens; it must have 1 to {} (the context)", p, prompts[p].size(), o.ctx - 1);
}

GenerationOptions generation_options(const RolloutOptions& o, size_t p) {
  GenerationOptions g;
  g.sampling.temperature = o.temperature;
  g.sampling.top_k = o.top_k;
  g.sampling.top_p = o.top_p;
  g.sampling.repetition_penalty = o.repetition_penalty;
  g.sampling.seed = o.seed + static_cast<uint64_t>(p) * static_cast<uint64_t>(o.samples);
  g.max_tokens = o.max_new_tokens;
  g.stop = o.stop;
  g.eos_ids = o.eos_ids;
  g.ignore_eos = o.ignore_eos;
  return g;
}

}  // namespace

std::vector<std::vector<RolloutSample>> generate_rollouts(std::shared_ptr<const ModelWeights> weights,
                                                          std::shared_ptr<const Tokenizer> tokenizer,
                                                          std::span<const std::vector<int32_t>> prompts,
                                                          const RolloutOptions& o,
                                                          const std::function<void(int64_t)>& progress,
                                                          RolloutStats* stats) {
  check_inputs(prompts, o);
  const auto t0 = std::chrono::steady_clock::now();
  SchedulerOptions so;
  so.n_slots = o.slots;
  so.ctx = o.ctx;
  so.max_queue = static_cast<int>(prompts.size()) + 1;
  so.threads = o.threads;
  BatchScheduler sched(std::move(weights), std::move(tokenizer), so);
  std::vector<std::shared_ptr<RequestChannel>> channels;
  for (size_t p = 0; p < prompts.size(); ++p) {
    auto ch = sched.submit(prompts[p], generation_options(o, p), o.samples);
    if (!ch) fail("the generation queue refused prompt {}", p);
    channels.push_back(std::move(ch));
  }
  std::vector<std::vector<RolloutSample>> out(prompts.size(), std::vector<RolloutSample>(static_cast<size_t>(o.samples)));
  std::vector<SeqEvent> events;
  int64_t generated = 0;
  for (size_t p = 0; p < channels.size(); ++p) {
    events.clear();
    while (channels[p]->wait(events, std::chrono::milliseconds(50))) {
    }
    if (std::string err = channels[p]->error(); !err.empty()) fail("generation of prompt {} failed: {}", p, err);
    for (const SeqEvent& e : events) {
      RolloutSample& s = out[p][static_cast<size_t>(e.index)];
      s.text += e.step.text;
      if (e.step.id >= 0) {
        s.tokens.push_back(e.step.id);
        s.logprobs.push_back(e.step.sample_logprob);
        s.model_logprobs.push_back(e.step.logprob);
        s.entropy.push_back(e.step.entropy);
        ++generated;
      }
      if (e.step.finished) s.stopped = e.step.finish_reason == "stop";
    }
    if (progress) progress(static_cast<int64_t>(p + 1));
  }
  if (stats) {
    stats->reused_prompt_tokens = sched.reused_prompt_tokens();
    stats->prompt_tokens = 0;
    for (const auto& p : prompts) stats->prompt_tokens += static_cast<int64_t>(p.size()) * o.samples;
    stats->generated_tokens = generated;
    stats->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  sched.stop();
  return out;
}

}  // namespace baimo
