#include "baimo/serve/prepare_generation.h"

#include <random>

#include "baimo/data/chat_records.h"
#include "baimo/infer/constrained/constraint.h"
#include "baimo/infer/constrained/json_schema.h"
#include "baimo/infer/inference_model.h"
#include "baimo/infer/max_tokens.h"
#include "baimo/serve/api_error.h"
#include "baimo/tokenizer/jinja_chat_ids.h"

namespace baimo::serve {
namespace {
using ojson = nlohmann::ordered_json;

bool has_tool_turns(const CompletionRequest& r) {
  for (const auto& m : r.messages)
    if (m.role == "tool" || !m.tool_calls.empty()) return true;
  return false;
}

// The built-in templates' conversation: tool calls and results as Qwen2.5's text, a run of tool
// results one user turn, the tools block after the system prompt (data/chat_records.h).
std::vector<ChatMessage> builtin_messages(const CompletionRequest& r, bool with_tools) {
  ChatRecord rec;
  for (size_t i = 0; i < r.messages.size(); ++i) {
    const RequestMessage& m = r.messages[i];
    if (m.role == "tool") {
      const std::string text = qwen_tool_response_text(m.content);
      if (i > 0 && r.messages[i - 1].role == "tool") rec.messages.back().content += "\n" + text;
      else rec.messages.push_back(ChatMessage{"user", text});
      continue;
    }
    std::string content = m.content;
    for (const auto& c : m.tool_calls) {
      if (!content.empty()) content += '\n';
      content += qwen_tool_call_text(c.name, c.arguments);
    }
    rec.messages.push_back(ChatMessage{m.role, std::move(content)});
  }
  if (with_tools) rec.tools = r.tools;
  return template_messages(rec);
}

// The conversation as transformers hands it to a Jinja template: arguments as objects.
ojson jinja_messages(const CompletionRequest& r) {
  ojson out = ojson::array();
  for (const RequestMessage& m : r.messages) {
    ojson msg = {{"role", m.role}, {"content", m.content}};
    if (!m.tool_calls.empty()) {
      ojson calls = ojson::array();
      for (const auto& c : m.tool_calls)
        calls.push_back({{"id", c.id},
                         {"type", "function"},
                         {"function", {{"name", c.name}, {"arguments", ojson::parse(c.arguments)}}}});
      msg["tool_calls"] = std::move(calls);
    }
    if (m.role == "tool") msg["tool_call_id"] = m.tool_call_id;
    out.push_back(std::move(msg));
  }
  return out;
}

std::vector<int32_t> chat_prompt(const CompletionRequest& r, const ModelContext& m) {
  const Tokenizer& tok = *m.tokenizer;
  const bool with_tools = !r.tools.empty() && r.tool_choice != ToolChoice::None;
  if (!m.jinja_template.empty()) {
    std::vector<uint32_t> ids;
    try {
      ids = render_jinja_chat_ids(tok, m.jinja_template, jinja_messages(r),
                                  with_tools ? ojson::parse(r.tools) : ojson(nullptr), true);
    } catch (const Error& e) {
      bad_request("messages", "invalid_value", "The model's chat template cannot render these messages: {}", e.what());
    }
    std::vector<int32_t> out(ids.begin(), ids.end());
    prepend_bos_once(tok, out);
    return out;
  }
  if ((with_tools || has_tool_turns(r)) && m.chat_template != ChatTemplateKind::ChatML)
    bad_request(with_tools ? "tools" : "messages", "invalid_value",
                "This model's chat template ({}) has no form for tools, tool calls or tool results: serve a ChatML "
                "model, or a model whose own chat template renders tools.",
                chat_template_name(m.chat_template));
  const std::vector<ChatMessage> messages = builtin_messages(r, with_tools);
  return encode_chat_prompt(tok, m.chat_template, messages);  // message text never forges a marker
}

void constrain_tool_call(const CompletionRequest& r, const ModelContext& m, PreparedGeneration& p) {
  const ToolCallFormat format = *p.tool_calls;
  const std::string named = r.tool_choice == ToolChoice::Named ? r.tool_choice_name : "";
  const std::string key = fmt::format("tools:{}:{}:{}:{}", static_cast<int>(format), r.parallel_tool_calls, named, r.tools);
  try {
    p.options.constraint = m.constraints->get(key, [&] {
      return constrained::Constraint::from_grammar(tool_call_grammar(format, r.tools, named, r.parallel_tool_calls),
                                                   *m.tokenizer, "tool call");
    });
  } catch (const constrained::UnsupportedSchema& e) {
    bad_request("tools", "unsupported_value", "{}", e.what());
  } catch (const Error& e) {
    bad_request("tools", "invalid_value", "Invalid function parameters schema: {}", e.what());
  }
}

}  // namespace

PreparedGeneration prepare_generation(const CompletionRequest& r, const ModelContext& m) {
  if (r.model != m.model_id)
    throw ApiError(404, fmt::format("The model '{}' does not exist; this server serves '{}'.", r.model, m.model_id),
                   "invalid_request_error", "model", "model_not_found");
  PreparedGeneration p;
  const Tokenizer& tok = *m.tokenizer;
  if (r.endpoint == Endpoint::Chat) {
    p.prompt = chat_prompt(r, m);
    std::string eot = chat_end_of_turn(m.chat_template);
    if (!eot.empty()) p.options.stop.push_back(eot);
  } else if (r.prompt_tokens) {
    p.prompt = *r.prompt_tokens;
    for (size_t i = 0; i < p.prompt.size(); ++i)
      if (p.prompt[i] >= m.vocab_size)
        bad_request(fmt::format("prompt[{}]", i), "invalid_value", "Token id {} is outside the vocabulary (size {}).",
                    p.prompt[i], m.vocab_size);
  } else {
    p.prompt = encode_prompt(tok, r.prompt);
  }
  if (p.prompt.empty()) {
    if (auto bos = tok.bos_id()) p.prompt.push_back(static_cast<int32_t>(*bos));
    else bad_request(r.endpoint == Endpoint::Chat ? "messages" : "prompt", "invalid_value", "The prompt is empty.");
  }
  for (const auto& [id, bias] : r.logit_bias)
    if (id >= m.vocab_size)
      bad_request("logit_bias", "invalid_value", "Token id {} in 'logit_bias' is outside the vocabulary (size {}).", id,
                  m.vocab_size);

  const int64_t prompt_len = static_cast<int64_t>(p.prompt.size());
  // Not given: the whole room for chat, 16 for completions (OpenAI's defaults), capped at the room.
  const int64_t max_tokens =
      r.max_tokens ? *r.max_tokens
                   : max_tokens_in_context(m.ctx, prompt_len, 0, r.endpoint == Endpoint::Chat ? 0 : 16);
  if (max_tokens > context_room(m.ctx, prompt_len)) {
    const char* where = r.endpoint == Endpoint::Chat ? "messages" : "prompt";
    bad_request(r.max_tokens ? "max_tokens" : where, "context_length_exceeded",
                "This model's maximum context length is {} tokens. However, you requested {} tokens ({} in the {}, {} "
                "in the completion). Please reduce the length of the {} or the completion.",
                m.ctx, prompt_len + max_tokens, prompt_len, where, max_tokens, where);
  }

  GenerationOptions& o = p.options;
  o.max_tokens = static_cast<int>(max_tokens);
  o.stop.insert(o.stop.end(), r.stop.begin(), r.stop.end());
  o.top_logprobs = r.logprobs ? r.top_logprobs : -1;
  o.prompt_logprobs = r.echo;  // the echoed prompt's log-probs (and max_tokens 0: nothing else)
  o.eos_ids = m.eos_ids;
  SamplingParams& s = o.sampling;
  s.temperature = r.temperature;
  s.top_p = r.top_p;
  s.top_k = r.top_k;
  s.min_p = r.min_p;
  s.repetition_penalty = r.repetition_penalty;
  s.presence_penalty = r.presence_penalty;
  s.frequency_penalty = r.frequency_penalty;
  s.logit_bias = r.logit_bias;
  if (r.response_format == ResponseFormat::JsonObject) {
    o.constraint = m.constraints->get("json_object", [&] { return constrained::Constraint::json_object(tok); });
  } else if (r.response_format == ResponseFormat::JsonSchema) {
    try {
      o.constraint = m.constraints->get("schema:" + r.json_schema,
                                        [&] { return constrained::Constraint::from_json_schema(r.json_schema, tok); });
    } catch (const constrained::UnsupportedSchema& e) {
      bad_request("response_format.json_schema.schema", "unsupported_value", "{}", e.what());
    } catch (const Error& e) {
      bad_request("response_format.json_schema.schema", "invalid_value", "Invalid JSON schema: {}", e.what());
    }
  }
  if (r.endpoint == Endpoint::Chat && !r.tools.empty() && r.tool_choice != ToolChoice::None) {
    p.tool_calls = m.jinja_template.empty() ? ToolCallFormat::Hermes : tool_call_format(m.jinja_template);
    if (r.tool_choice == ToolChoice::Required || r.tool_choice == ToolChoice::Named) constrain_tool_call(r, m, p);
  }
  if (r.seed) {
    s.seed = *r.seed;
  } else {
    static thread_local std::mt19937_64 seeds(std::random_device{}());
    s.seed = seeds();
  }
  return p;
}

}  // namespace baimo::serve
