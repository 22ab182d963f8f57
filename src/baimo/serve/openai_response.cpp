#include "baimo/serve/openai_response.h"

namespace baimo::serve {
namespace {
using json = nlohmann::json;

json bytes_json(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

const char* object_name(Endpoint e, bool chunk) {
  if (e == Endpoint::Completion) return "text_completion";
  return chunk ? "chat.completion.chunk" : "chat.completion";
}

json finish_json(const std::string& reason) { return reason.empty() ? json(nullptr) : json(reason); }

}  // namespace

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

json logprobs_json(Endpoint e, const std::vector<TokenLogprob>& lps, size_t text_offset_start) {
  if (e == Endpoint::Chat) {
    json content = json::array();
    for (const auto& t : lps) {
      json top = json::array();
      for (const auto& [tok, lp] : t.top)
        top.push_back({{"token", tok}, {"logprob", lp}, {"bytes", bytes_json(tok)}});
      content.push_back({{"token", t.token}, {"logprob", t.logprob}, {"bytes", bytes_json(t.token)}, {"top_logprobs", top}});
    }
    return {{"content", content}, {"refusal", nullptr}};
  }
  json tokens = json::array(), token_lps = json::array(), tops = json::array(), offsets = json::array();
  size_t offset = text_offset_start;
  for (const auto& t : lps) {
    tokens.push_back(t.token);
    token_lps.push_back(t.null_logprob ? json(nullptr) : json(t.logprob));
    json top = json::object();
    for (const auto& [tok, lp] : t.top) top[tok] = lp;
    tops.push_back(t.null_logprob ? json(nullptr) : top);
    offsets.push_back(offset);
    if (t.in_text) offset += t.token.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", token_lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json completion_json(const ResponseMeta& m, const std::vector<ChoiceResult>& choices, const Usage& u) {
  json arr = json::array();
  for (const auto& c : choices) {
    json lp = m.logprobs ? logprobs_json(m.endpoint, c.logprobs, 0) : json(nullptr);
    if (m.endpoint == Endpoint::Chat) {
      json message = {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}};
      if (!c.tool_calls.empty()) {
        if (c.text.empty()) message["content"] = nullptr;
        json calls = json::array();
        for (const auto& t : c.tool_calls)
          calls.push_back({{"id", t.id}, {"type", "function"}, {"function", {{"name", t.name}, {"arguments", t.arguments}}}});
        message["tool_calls"] = std::move(calls);
      }
      arr.push_back({{"index", c.index}, {"message", message}, {"logprobs", lp}, {"finish_reason", finish_json(c.finish_reason)}});
    } else {
      arr.push_back({{"index", c.index}, {"text", c.text}, {"logprobs", lp}, {"finish_reason", finish_json(c.finish_reason)}});
    }
  }
  return {{"id", m.id},          {"object", object_name(m.endpoint, false)}, {"created", m.created},
          {"model", m.model},    {"system_fingerprint", "baimo-" BAIMO_VERSION}, {"choices", arr},
          {"usage", usage_json(u)}};
}

json chunk_json(const ResponseMeta& m, int index, bool first, const std::string& text, const std::string& finish_reason,
                const std::vector<TokenLogprob>& lps, size_t text_offset_start) {
  json lp = m.logprobs && !lps.empty() ? logprobs_json(m.endpoint, lps, text_offset_start) : json(nullptr);
  json choice;
  if (m.endpoint == Endpoint::Chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || first) delta["content"] = text;
    choice = {{"index", index}, {"delta", delta}, {"logprobs", lp}, {"finish_reason", finish_json(finish_reason)}};
  } else {
    choice = {{"index", index}, {"text", text}, {"logprobs", lp}, {"finish_reason", finish_json(finish_reason)}};
  }
  json c = {{"id", m.id},       {"object", object_name(m.endpoint, true)},     {"created", m.created},
            {"model", m.model}, {"system_fingerprint", "baimo-" BAIMO_VERSION}, {"choices", json::array({choice})}};
  if (m.include_usage) c["usage"] = nullptr;
  return c;
}

json tool_call_chunk_json(const ResponseMeta& m, int index, int call_index, const ToolCallResult& call, bool header) {
  json tc = {{"index", call_index}};
  if (header) {
    tc["id"] = call.id;
    tc["type"] = "function";
    tc["function"] = {{"name", call.name}, {"arguments", ""}};
  } else {
    tc["function"] = {{"arguments", call.arguments}};
  }
  json choice = {{"index", index}, {"delta", {{"tool_calls", json::array({tc})}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
  json c = {{"id", m.id},       {"object", object_name(m.endpoint, true)},     {"created", m.created},
            {"model", m.model}, {"system_fingerprint", "baimo-" BAIMO_VERSION}, {"choices", json::array({choice})}};
  if (m.include_usage) c["usage"] = nullptr;
  return c;
}

json usage_chunk_json(const ResponseMeta& m, const Usage& u) {
  return {{"id", m.id},       {"object", object_name(m.endpoint, true)},     {"created", m.created},
          {"model", m.model}, {"system_fingerprint", "baimo-" BAIMO_VERSION}, {"choices", json::array()},
          {"usage", usage_json(u)}};
}

json models_json(const std::string& model_id, int64_t created) {
  return {{"object", "list"},
          {"data", json::array({{{"id", model_id}, {"object", "model"}, {"created", created}, {"owned_by", "baimo"}}})}};
}

}  // namespace baimo::serve
