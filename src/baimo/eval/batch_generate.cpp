#include "baimo/eval/batch_generate.h"

#include <chrono>

#include "baimo/infer/batch_scheduler.h"
#include "baimo/util/error.h"

namespace baimo::eval {

std::vector<std::vector<GeneratedSample>> batch_generate(std::shared_ptr<const ModelWeights> weights,
                                                         std::shared_ptr<const Tokenizer> tokenizer,
                                                         std::span<const std::vector<int32_t>> prompts,
                                                         const BatchGenerateOptions& o,
                                                         const std::function<void(int64_t)>& progress) {
  if (o.samples < 1) fail("samples must be >= 1, got {}", o.samples);
  for (size_t p = 0; p < prompts.size(); ++p)
    if (prompts[p].empty() || static_cast<int64_t>(prompts[p].size()) >= o.ctx)
      fail("prompt {} has {} tokens; it must have 1 to {} (the context)", p, prompts[p].size(), o.ctx - 1);
  SchedulerOptions so;
  so.n_slots = o.slots;
  so.ctx = o.ctx;
  so.max_queue = static_cast<int>(prompts.size()) + 1;
  so.threads = o.threads;
  BatchScheduler sched(std::move(weights), std::move(tokenizer), so);
  std::vector<std::shared_ptr<RequestChannel>> channels;
  for (size_t p = 0; p < prompts.size(); ++p) {
    GenerationOptions g;
    g.sampling.temperature = o.temperature;
    g.sampling.seed = o.seed + static_cast<uint64_t>(p) * static_cast<uint64_t>(o.samples);
    g.max_tokens = o.max_tokens;
    g.stop = o.stop;
    g.eos_ids = o.eos_ids;
    auto ch = sched.submit(prompts[p], g, o.samples);
    if (!ch) fail("the generation queue refused prompt {}", p);
    channels.push_back(std::move(ch));
  }
  std::vector<std::vector<GeneratedSample>> out(prompts.size(), std::vector<GeneratedSample>(static_cast<size_t>(o.samples)));
  std::vector<SeqEvent> events;
  for (size_t p = 0; p < channels.size(); ++p) {
    events.clear();
    while (channels[p]->wait(events, std::chrono::milliseconds(50))) {
    }
    if (std::string err = channels[p]->error(); !err.empty()) fail("generation of prompt {} failed: {}", p, err);
    for (const SeqEvent& e : events) {
      GeneratedSample& s = out[p][static_cast<size_t>(e.index)];
      s.text += e.step.text;
      if (e.step.id >= 0) {
        ++s.tokens;
        s.last_id = e.step.id;
      }
      if (e.step.finished) s.stopped = e.step.finish_reason == "stop";
    }
    if (progress) progress(static_cast<int64_t>(p + 1));
  }
  sched.stop();
  return out;
}

}  // namespace baimo::eval
