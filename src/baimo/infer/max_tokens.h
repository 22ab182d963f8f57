// The room a context leaves for generated tokens, and max_tokens capped to it: the one computation
// behind every caller that sizes a generation (serve, the batch scheduler, chat, generate).
//   context_room(ctx, prompt_len) = ctx - prompt_len: positions left after the prompt (<= 0 when the
//     prompt fills the context).
//   max_tokens_in_context(ctx, prompt_len, requested, fallback):
//     requested > 0: min(requested, room);  otherwise ("none given"): fallback > 0 ? min(fallback, room)
//     : room (the whole room);  never below 1 (a prompt that fills the context still asks for one
//     token: callers that must refuse it compare with context_room).
// Examples (ctx 100, prompt 40): requested 10 -> 10; requested 500 -> 60; none -> 60; none with
// fallback 16 -> 16.  (ctx 100, prompt 100): anything -> 1, context_room 0.
#pragma once
#include <cstdint>

namespace baimo {

int64_t context_room(int64_t ctx, int64_t prompt_len);
int64_t max_tokens_in_context(int64_t ctx, int64_t prompt_len, int64_t requested, int64_t fallback = 0);

}  // namespace baimo
