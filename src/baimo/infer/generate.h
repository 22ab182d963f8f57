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
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "baimo/infer/engine.h"
#include "baimo/infer/sequence.h"

namespace baimo {

struct GenerateOptions {
  int64_t prefill_chunk = 512;
  int64_t reuse = 0;                          // cached prompt positions to keep in the slot
  const std::atomic<bool>* cancel = nullptr;  // stop when it becomes true
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids
  std::string text;             // concatenated TokenStep texts
  std::string finish_reason;    // stop | length | cancelled
  int64_t prompt_tokens = 0, prefilled_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

GenerateResult generate(Engine& engine, int slot, Sequence& seq,
                        const std::function<bool(const TokenStep&)>& on_token = {},
                        const GenerateOptions& options = {});

}  // namespace baimo
