#include "baimo/infer/generate.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "baimo/util/elapsed.h"
#include "baimo/util/error.h"

namespace baimo {
GenerateResult generate(Engine& engine, int slot, Sequence& seq, const std::function<bool(const TokenStep&)>& on_token,
                        const GenerateOptions& options) {
  const std::vector<int32_t> prompt(seq.tokens().begin(), seq.tokens().begin() + static_cast<ptrdiff_t>(seq.prompt_size()));
  const int64_t n = static_cast<int64_t>(prompt.size()), ctx = engine.ctx();
  if (n == 0) fail("the prompt is empty");
  if (n >= ctx) fail("the prompt has {} tokens; the context holds {} (leave room for an answer)", n, ctx);
  if (options.prefill_chunk < 1) fail("prefill chunk must be at least 1 token");
  if (options.drafter) check_draft_k(options.draft_k);
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
  // Every token goes through take(): false ends the generation.
  auto take = [&](const TokenStep& step) {
    r.tokens.push_back(step.id);
    r.text += step.text;
    const bool keep_going = !on_token || on_token(step);
    if (step.finished) {
      r.finish_reason = step.finish_reason;
      return false;
    }
    if (!keep_going || cancelled()) {
      r.finish_reason = "cancelled";
      return false;
    }
    return true;
  };
  int k = options.draft_k;
  std::vector<int32_t> chunk, drafts;
  std::vector<float> q, p, residual;
  bool more = take(seq.accept(logits));
  while (more) {
    const int64_t base = cache.length(slot);
    if (base >= ctx) {  // no room to feed the token back: end with what is held back
      TokenStep last;
      last.text = seq.flush("length");
      last.finished = true;
      last.finish_reason = r.finish_reason = "length";
      r.text += last.text;
      if (on_token) on_token(last);
      break;
    }
    drafts.clear();
    q.clear();
    // Drafts that fit the context after the pending token and leave a token for the target's own.
    const int64_t room = std::min<int64_t>(ctx - base - 1, seq.options().max_tokens - seq.generated() - 1);
    if (options.drafter && room > 0) options.drafter->propose(seq.tokens(), static_cast<int>(std::min<int64_t>(k, room)), drafts, q);
    chunk.assign(1, r.tokens.back());
    chunk.insert(chunk.end(), drafts.begin(), drafts.end());
    Engine::Chunk ch{slot, chunk, !drafts.empty()};
    engine.forward(std::span(&ch, 1), logits);
    ++r.target_passes;
    const AcceptResult a = accept_drafts(seq, logits, drafts, q, take, p, residual);
    cache.truncate(slot, base + 1 + a.accepted);
    r.drafted += a.checked;
    r.accepted += a.accepted;
    more = !a.stop;
    if (options.adaptive_k && !drafts.empty()) {
      if (a.accepted == static_cast<int>(drafts.size()) && static_cast<int>(drafts.size()) == k)
        k = std::min(k + 1, options.draft_k);
      else if (2 * a.accepted < static_cast<int>(drafts.size()))
        k = std::max(k - 1, 1);
    }
  }
  r.decode_seconds = seconds_since(t0);
  return r;
}

}  // namespace baimo
