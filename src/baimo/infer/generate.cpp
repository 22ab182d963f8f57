#include "baimo/infer/generate.h"

#include <algorithm>
#include <chrono>

#include "baimo/util/error.h"

namespace baimo {
namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

GenerateResult generate(Engine& engine, int slot, Sequence& seq, const std::function<bool(const TokenStep&)>& on_token,
                        const GenerateOptions& options) {
  const std::vector<int32_t> prompt(seq.tokens().begin(), seq.tokens().begin() + static_cast<ptrdiff_t>(seq.prompt_size()));
  const int64_t n = static_cast<int64_t>(prompt.size()), ctx = engine.ctx();
  if (n == 0) fail("the prompt is empty");
  if (n >= ctx) fail("the prompt has {} tokens; the context holds {} (leave room for an answer)", n, ctx);
  if (options.prefill_chunk < 1) fail("prefill chunk must be at least 1 token");
  KvCache& cache = engine.cache();
  // At least the last prompt token is forwarded: its logits give the first answer token.
  const int64_t keep = std::clamp<int64_t>(options.reuse, 0, std::min(n - 1, cache.length(slot)));
  cache.truncate(slot, keep);

  GenerateResult r;
  r.prompt_tokens = n;
  r.prefilled_tokens = n - keep;
  auto cancelled = [&] { return options.cancel && options.cancel->load(); };
  std::vector<float> logits;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t p = keep; p < n; p += options.prefill_chunk) {
    if (cancelled()) {
      r.finish_reason = "cancelled";
      r.prefill_seconds = seconds_since(t0);
      return r;
    }
    const int64_t take = std::min(options.prefill_chunk, n - p);
    Engine::Chunk ch{slot, std::span<const int32_t>(prompt.data() + p, static_cast<size_t>(take))};
    engine.forward(std::span(&ch, 1), logits);
  }
  r.prefill_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  for (;;) {
    TokenStep step = seq.accept(logits);
    r.tokens.push_back(step.id);
    r.text += step.text;
    const bool keep_going = !on_token || on_token(step);
    if (step.finished) {
      r.finish_reason = step.finish_reason;
      break;
    }
    if (!keep_going || cancelled()) {
      r.finish_reason = "cancelled";
      break;
    }
    if (cache.length(slot) >= ctx) {  // no room to feed the token back: end with what is held back
      TokenStep last;
      last.text = seq.flush("length");
      last.finished = true;
      last.finish_reason = r.finish_reason = "length";
      r.text += last.text;
      if (on_token) on_token(last);
      break;
    }
    Engine::Chunk ch{slot, std::span<const int32_t>(&r.tokens.back(), 1)};
    engine.forward(std::span(&ch, 1), logits);
  }
  r.decode_seconds = seconds_since(t0);
  return r;
}

}  // namespace baimo
