// OpenAI request bodies for POST /v1/chat/completions and POST /v1/completions (and baimo's
// POST /v1/rewards, parse_reward_request below), parsed and checked field by field.
// Contract:
// - parse_completion_request(body, endpoint) returns a CompletionRequest or throws ApiError 400
//   whose `param` names the field (e.g. "messages[1].content", "temperature") and whose message
//   says what was expected. Malformed JSON, a body that is not an object, unknown fields and fields
//   baimo does not implement (functions, suffix, ...) are all 400s.
//   Checked, then ignored because they change nothing here:
//   a message's `name`, response_format {"type": "text"}, store, metadata (<= 16 strings).
//   A JSON null counts as "absent" for optional fields, as in OpenAI's API.
// - Tools (chat): `tools` (1 to 128 {"type": "function", "function": {"name": [a-zA-Z0-9_-]{1,64},
//   "description"?, "parameters"?: object, "strict"?}}, names unique; kept as JSON text in the body's
//   key order), `tool_choice` ("none" | "auto" | "required" | {"type": "function", "function":
//   {"name"}} naming one of the tools; only with tools; default auto), `parallel_tool_calls`.
//   Messages: role "tool" (content and tool_call_id required); an assistant's `tool_calls`
//   ([{"id", "type": "function", "function": {"name", "arguments": JSON text of an object}}]), its
//   content then optional (null). Reward requests take none of these.
// - Ranges follow OpenAI: temperature [0, 2], top_p [0, 1] (0 is greedy: it becomes temperature 0
//   and top_p 1), presence/frequency_penalty [-2, 2],
//   n [1, 16], stop: a string or up to 4 non-empty strings, logit_bias: token-id keys with values in
//   [-100, 100], top_logprobs [0, 20] (needs logprobs=true), completions' logprobs [0, 5],
//   max_tokens >= 1 (completions: 0 with echo, only the prompt is scored). Completions' echo=true
//   puts the prompt before the answer's text and, with logprobs, its tokens' log-probs before the
//   answer's (the first one null); not with stream. baimo extensions: top_k >= 0, min_p [0, 1], repetition_penalty > 0.
// - response_format (chat): {"type": "text"}, {"type": "json_object"} or {"type": "json_schema",
//   "json_schema": {"name": [a-zA-Z0-9_-]{1,64}, "description"?: str, "schema"?: object, "strict"?:
//   bool}}; the schema is kept as JSON text in the body's key order (its property order). Compiling
//   it (unsupported keywords -> 400 naming them) is prepare_generation's, which has the tokenizer.
// - Checks that need the model (model name, token ids < vocab, context length) are the server's.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace baimo::serve {

enum class Endpoint { Chat, Completion };

struct RequestToolCall {
  std::string id, name;
  std::string arguments;  // JSON text of an object, as sent
};

struct RequestMessage {
  std::string role;  // system | user | assistant | tool ("developer" is read as system)
  std::string content;
  std::vector<RequestToolCall> tool_calls;  // assistant
  std::string tool_call_id;                 // tool
};

enum class ToolChoice { None, Auto, Required, Named };

enum class ResponseFormat { Text, JsonObject, JsonSchema };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::Chat;
  std::string model;
  std::vector<RequestMessage> messages;      // chat
  std::string prompt;                        // completions, text form
  std::optional<std::vector<int32_t>> prompt_tokens;  // completions, token-id form
  std::optional<int64_t> max_tokens;         // max_tokens or max_completion_tokens
  float temperature = 1.0f;
  float top_p = 1.0f;
  int top_k = 0;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  std::unordered_map<int32_t, float> logit_bias;
  std::vector<std::string> stop;
  int n = 1;
  std::optional<uint64_t> seed;
  bool echo = false;       // completions: the prompt (and its log-probs) starts the answer
  bool logprobs = false;   // chat: logprobs=true; completions: logprobs given
  int top_logprobs = 0;    // alternatives per token (chat top_logprobs, completions logprobs)
  std::string user;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  ResponseFormat response_format = ResponseFormat::Text;
  std::string json_schema;     // JsonSchema: the schema's JSON text ("{}" when absent)
  std::string tools;           // JSON text of the tools array in the body's key order; "" for none
  ToolChoice tool_choice = ToolChoice::None;  // Auto when tools are given and tool_choice is not
  std::string tool_choice_name;               // Named: the function
  bool parallel_tool_calls = true;
};

CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint);

// POST /v1/rewards (a reward model's endpoint, baimo's own): {"model"?: str, "user"?: str,
// "items"?: array (ignored: what eval/rewards.h url:URL sends for other reward servers)} and
// either "messages": [messages] (one conversation) or "input": [[messages], ...] (1 to
// kMaxRewardConversations). Messages are checked as chat's are; errors are ApiError 400 naming
// the field ("input[1][0].role"); unknown fields, both or neither of messages / input are 400s.
struct RewardRequest {
  std::string model;
  std::vector<std::vector<RequestMessage>> conversations;
};
inline constexpr size_t kMaxRewardConversations = 256;
RewardRequest parse_reward_request(std::string_view body);

}  // namespace baimo::serve
