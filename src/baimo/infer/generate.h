// generate(): one sequence from prompt to finish on one Engine slot, for `baimo generate` / `chat`
// (the server's scheduler drives Engine + Sequence itself for many slots at once).
// - The slot's KV cache keeps its first `options.reuse` positions (the caller knows they hold the
//   prompt's first tokens, e.g. a chat history); the rest of the prompt is prefilled in chunks of
//   options.prefill_chunk tokens, then one token per step is decoded until the Sequence finishes,
//   the context is full (finish_reason "length"), on_token returns false or *cancel becomes true
//   (finish_reason "cancelled"; checked between steps, prefill chunks included).
// - on_token sees every TokenStep in order (its text concatenates to the streamed answer). When the
//   context fills up, a last step with id -1, finished, "length" carries the text still held back.
// - The prompt must be non-empty and shorter than the context; baimo::Error otherwise.
// After return the slot holds the prompt and every generated token that was fed back.
// Speculative decoding (options.drafter, speculative.h): each decode step asks the drafter for up to
// k tokens (k <= draft_k, fewer near the context end or max_tokens; adaptive_k: one more after a
// step that accepted all, one fewer after one that accepted under half), verifies them in one
// forward pass of the pending token and the drafts, takes the accepted prefix and one target token,
// and truncates the slot's cache to the tokens taken. Greedy output equals plain decoding's; sampled
// output has the same distribution. target_passes counts decode forward passes, drafted / accepted
// the draft tokens checked and taken.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "baimo/infer/engine.h"
#include "baimo/infer/sequence.h"
#include "baimo/infer/speculative.h"

namespace baimo {

struct GenerateOptions {
  int64_t prefill_chunk = 512;
  int64_t reuse = 0;                          // cached prompt positions to keep in the slot
  const std::atomic<bool>* cancel = nullptr;  // stop when it becomes true
  Drafter* drafter = nullptr;                 // speculative decoding when set
  int draft_k = 5;                            // most draft tokens per step, 1 .. kMaxDraftTokens
  bool adaptive_k = true;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids
  std::string text;             // concatenated TokenStep texts
  std::string finish_reason;    // stop | length | cancelled
  int64_t prompt_tokens = 0, prefilled_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  int64_t target_passes = 0, drafted = 0, accepted = 0;
};

GenerateResult generate(Engine& engine, int slot, Sequence& seq,
                        const std::function<bool(const TokenStep&)>& on_token = {},
                        const GenerateOptions& options = {});

}  // namespace baimo
