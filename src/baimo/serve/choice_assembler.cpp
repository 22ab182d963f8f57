#include "baimo/serve/choice_assembler.h"

#include <algorithm>

#include "baimo/serve/sse.h"

namespace baimo::serve {

ChoiceAssembler::ChoiceAssembler(const ResponseMeta& meta, int n, const Tokenizer& tok)
    : meta_(meta), tok_(tok), choices_(n), started_(n, false), finished_(n, false), text_bytes_(n, 0), last_time_(n) {
  for (int i = 0; i < n; ++i) choices_[i].index = i;
  if (meta_.tool_calls) tool_streams_.assign(n, ToolCallStream(*meta_.tool_calls)), calls_sent_.assign(n, 0);
}

namespace {
ToolCallResult with_id(const ParsedToolCall& c) { return ToolCallResult{new_tool_call_id(), c.name, c.arguments}; }
}  // namespace

std::vector<TokenLogprob> ChoiceAssembler::token_logprobs(const TokenStep& t) const {
  std::vector<TokenLogprob> out;
  if (!meta_.logprobs || t.id < 0) return out;
  TokenLogprob lp;
  lp.token = std::string(tok_.token_bytes(static_cast<uint32_t>(t.id)));
  lp.in_text = !tok_.is_special(static_cast<uint32_t>(t.id));
  lp.logprob = t.logprob;
  for (const auto& [id, l] : t.top) lp.top.emplace_back(std::string(tok_.token_bytes(static_cast<uint32_t>(id))), l);
  out.push_back(std::move(lp));
  return out;
}

double ChoiceAssembler::gap_seconds(const SeqEvent& e) const {
  if (e.index < 0 || e.index >= static_cast<int>(choices_.size()) || !started_[e.index]) return -1;
  return std::chrono::duration<double>(e.time - last_time_[e.index]).count();
}

void ChoiceAssembler::stream_event(const SeqEvent& e, std::string& out) {
  const int i = e.index;
  const bool first = !started_[i];
  started_[i] = true;
  last_time_[i] = e.time;
  if (e.step.id >= 0) ++completion_tokens_;
  auto lps = token_logprobs(e.step);
  if (tool_streams_.empty()) {
    if (first || !e.step.text.empty() || !lps.empty())
      out += sse_event(chunk_json(meta_, i, first, e.step.text, "", lps, text_bytes_[i]));
    text_bytes_[i] += e.step.text.size();
  } else {  // the text goes through the call parser: content now, each call once it closes
    ToolCallStream& ts = tool_streams_[i];
    auto send = [&](const ToolCallStream::Out& o, bool first_chunk, std::vector<TokenLogprob> l) {
      if (first_chunk || !o.content.empty() || !l.empty())
        out += sse_event(chunk_json(meta_, i, first_chunk, o.content, "", l, 0));
      for (const auto& c : o.calls) {
        const ToolCallResult call = with_id(c);
        out += sse_event(tool_call_chunk_json(meta_, i, calls_sent_[i], call, true));
        out += sse_event(tool_call_chunk_json(meta_, i, calls_sent_[i]++, call, false));
      }
    };
    send(ts.feed(e.step.text), first, std::move(lps));
    if (e.step.finished) send(ts.finish(), false, {});
  }
  if (e.step.finished) {
    finished_[i] = true;
    std::string reason = e.step.finish_reason;
    if (!tool_streams_.empty() && tool_streams_[i].any_call() && reason == "stop") reason = "tool_calls";
    out += sse_event(chunk_json(meta_, i, false, "", reason, {}, text_bytes_[i]));
  }
}

void ChoiceAssembler::stream_end(int64_t prompt_tokens, std::string& out) const {
  if (meta_.include_usage) out += sse_event(usage_chunk_json(meta_, Usage{prompt_tokens, completion_tokens_}));
  out += kSseDone;
}

void ChoiceAssembler::add_event(const SeqEvent& e) {
  ChoiceResult& c = choices_[e.index];
  started_[e.index] = true;
  last_time_[e.index] = e.time;
  if (e.step.id >= 0) ++completion_tokens_;
  c.text += e.step.text;
  for (auto& lp : token_logprobs(e.step)) c.logprobs.push_back(std::move(lp));
  if (e.step.finished) {
    finished_[e.index] = true;
    c.finish_reason = e.step.finish_reason;
  }
}

bool ChoiceAssembler::all_finished() const {
  return std::all_of(finished_.begin(), finished_.end(), [](bool f) { return f; });
}

void ChoiceAssembler::echo_prompt(const std::string& prompt_text, const std::vector<int32_t>& ids,
                                  const std::vector<PromptLogprob>& lps, bool text_prompt, bool bos_added) {
  echo_ = true;
  echo_text_ = prompt_text;
  echo_logprobs_.clear();
  if (!meta_.logprobs) return;
  for (size_t i = 0; i < ids.size(); ++i) {
    TokenLogprob t;
    t.token = std::string(tok_.token_bytes(static_cast<uint32_t>(ids[i])));
    t.in_text = text_prompt ? !(i == 0 && bos_added) : !tok_.is_special(static_cast<uint32_t>(ids[i]));
    t.null_logprob = i == 0 || i >= lps.size();
    if (!t.null_logprob) {
      t.logprob = lps[i].logprob;
      for (const auto& [id, l] : lps[i].top)
        t.top.emplace_back(std::string(tok_.token_bytes(static_cast<uint32_t>(id))), l);
    }
    echo_logprobs_.push_back(std::move(t));
  }
}

nlohmann::json ChoiceAssembler::whole(int64_t prompt_tokens) const {
  if (meta_.tool_calls) {
    std::vector<ChoiceResult> choices = choices_;
    for (ChoiceResult& c : choices) {
      ParsedAnswer a = parse_tool_calls(*meta_.tool_calls, c.text);
      if (a.calls.empty()) continue;
      c.text = std::move(a.content);
      for (const auto& call : a.calls) c.tool_calls.push_back(with_id(call));
      if (c.finish_reason == "stop") c.finish_reason = "tool_calls";
    }
    return completion_json(meta_, choices, Usage{prompt_tokens, completion_tokens_});
  }
  if (!echo_) return completion_json(meta_, choices_, Usage{prompt_tokens, completion_tokens_});
  std::vector<ChoiceResult> choices = choices_;
  for (ChoiceResult& c : choices) {
    c.text = echo_text_ + c.text;
    c.logprobs.insert(c.logprobs.begin(), echo_logprobs_.begin(), echo_logprobs_.end());
  }
  return completion_json(meta_, choices, Usage{prompt_tokens, completion_tokens_});
}

}  // namespace baimo::serve
