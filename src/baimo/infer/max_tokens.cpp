#include "baimo/infer/max_tokens.h"

#include <algorithm>

namespace baimo {

int64_t context_room(int64_t ctx, int64_t prompt_len) { return ctx - prompt_len; }

int64_t max_tokens_in_context(int64_t ctx, int64_t prompt_len, int64_t requested, int64_t fallback) {
  const int64_t room = context_room(ctx, prompt_len);
  const int64_t want = requested > 0 ? requested : fallback > 0 ? fallback : room;
  return std::max<int64_t>(1, std::min(want, room));
}

}  // namespace baimo
