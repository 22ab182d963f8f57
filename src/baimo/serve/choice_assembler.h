// ChoiceAssembler: turns the scheduler's per-token events of one request (n choices) into
// OpenAI choices -- streamed chunks (SSE text) or the whole answer -- and counts tokens.
// Contract: events of different choices may interleave; each choice's text is the concatenation
// of its events' text in order. Log-probs (when asked) list every generated token -- one entry per
// token counted in usage.completion_tokens, special tokens (EOS, end of turn) included, as their
// text -- with the token's bytes and its alternatives; a streamed special token gets its own chunk.
// Events without a token (id -1: a max_tokens 0 request's end) count no completion token.
// echo_prompt (completions' echo, non-streaming): whole() puts `prompt_text` before every choice's
// text and, with log-probs, the prompt's tokens before its tokens: each token's bytes, its log-prob
// from `lps` (entry i for token i; token 0 null), its alternatives. Tokens outside the text
// (text_offset does not advance over them): a BOS the server prepended (`bos_added`), and, for a
// token-id prompt (`text_prompt` false), special tokens.
// Tool calls (chat, meta.tool_calls set): each choice's text is parsed for calls (tool_calls.h);
// found calls become its tool_calls (new ids), the rest its content, and a "stop" finish becomes
// "tool_calls". Streamed, text that may begin a call is held back until the call closes.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "baimo/infer/request_channel.h"
#include "baimo/serve/openai_response.h"
#include "baimo/serve/tool_calls.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo::serve {

class ChoiceAssembler {
 public:
  ChoiceAssembler(const ResponseMeta& meta, int n, const Tokenizer& tok);

  // Streaming: appends the SSE events ("data: ...\n\n") for this token event to `out`.
  void stream_event(const SeqEvent& e, std::string& out);
  // Streaming end: the usage chunk (when asked for) and "data: [DONE]".
  void stream_end(int64_t prompt_tokens, std::string& out) const;
  // Non-streaming: records the event; whole() builds the answer once every choice finished.
  void add_event(const SeqEvent& e);
  nlohmann::json whole(int64_t prompt_tokens) const;
  void echo_prompt(const std::string& prompt_text, const std::vector<int32_t>& ids, const std::vector<PromptLogprob>& lps,
                   bool text_prompt, bool bos_added);

  int64_t completion_tokens() const { return completion_tokens_; }
  bool all_finished() const;
  // Seconds between this token and the previous one of the same choice (< 0 for a first token).
  double gap_seconds(const SeqEvent& e) const;

 private:
  std::vector<TokenLogprob> token_logprobs(const TokenStep& t) const;

  ResponseMeta meta_;
  const Tokenizer& tok_;
  std::vector<ChoiceResult> choices_;
  bool echo_ = false;
  std::string echo_text_;
  std::vector<TokenLogprob> echo_logprobs_;
  std::vector<bool> started_, finished_;
  std::vector<size_t> text_bytes_;
  std::vector<std::chrono::steady_clock::time_point> last_time_;
  std::vector<ToolCallStream> tool_streams_;  // per choice, when meta.tool_calls
  std::vector<int> calls_sent_;
  int64_t completion_tokens_ = 0;
};

}  // namespace baimo::serve
