#include "baimo/serve/prepare_generation.h"

#include <random>

#include "baimo/infer/constrained/constraint.h"
#include "baimo/infer/constrained/json_schema.h"
#include "baimo/infer/inference_model.h"
#include "baimo/infer/max_tokens.h"
#include "baimo/serve/api_error.h"

namespace baimo::serve {

PreparedGeneration prepare_generation(const CompletionRequest& r, const ModelContext& m) {
  if (r.model != m.model_id)
    throw ApiError(404, fmt::format("The model '{}' does not exist; this server serves '{}'.", r.model, m.model_id),
                   "invalid_request_error", "model", "model_not_found");
  PreparedGeneration p;
  const Tokenizer& tok = *m.tokenizer;
  if (r.endpoint == Endpoint::Chat) {
    std::vector<ChatMessage> messages;
    messages.reserve(r.messages.size());
    for (const auto& msg : r.messages) messages.push_back(ChatMessage{msg.role, msg.content});
    p.prompt = encode_chat_prompt(tok, m.chat_template, messages);  // message text never forges a marker
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
  if (r.seed) {
    s.seed = *r.seed;
  } else {
    static thread_local std::mt19937_64 seeds(std::random_device{}());
    s.seed = seeds();
  }
  return p;
}

}  // namespace baimo::serve
