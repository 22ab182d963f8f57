#include "baimo/serve/openai_request.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "baimo/serve/api_error.h"

namespace baimo::serve {
namespace {
using json = nlohmann::json;

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

[[noreturn]] void wrong_type(const std::string& name, const char* expected, const json& v) {
  bad_request(name, "invalid_type", "Invalid type for '{}': expected {}, but got {} instead.", name, expected,
              type_name(v));
}

double as_number(const json& v, const std::string& name) {
  if (!v.is_number()) wrong_type(name, "a number", v);
  double d = v.get<double>();
  if (!std::isfinite(d)) bad_request(name, "invalid_value", "'{}' must be a finite number.", name);
  return d;
}

double number_in(const json& v, const std::string& name, double lo, double hi, bool lo_open = false) {
  double d = as_number(v, name);
  if ((lo_open ? d <= lo : d < lo) || d > hi)
    bad_request(name, "invalid_value", "{} is {} '{}': expected a value in {}{}, {}].", d,
                d < lo || (lo_open && d <= lo) ? "less than the minimum of" : "greater than the maximum of", name,
                lo_open ? "(" : "[", lo, hi);
  return d;
}

int64_t as_integer(const json& v, const std::string& name) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) bad_request(name, "invalid_value", "'{}' is too large.", name);
    return static_cast<int64_t>(u);
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  wrong_type(name, "an integer", v);
}

int64_t integer_in(const json& v, const std::string& name, int64_t lo, int64_t hi) {
  int64_t i = as_integer(v, name);
  if (i < lo || i > hi)
    bad_request(name, "invalid_value", "{} is {} '{}': expected an integer in [{}, {}].", i,
                i < lo ? "less than the minimum of" : "greater than the maximum of", name, lo, hi);
  return i;
}

bool as_bool(const json& v, const std::string& name) {
  if (!v.is_boolean()) wrong_type(name, "a boolean", v);
  return v.get<bool>();
}

std::string as_string(const json& v, const std::string& name) {
  if (!v.is_string()) wrong_type(name, "a string", v);
  return v.get<std::string>();
}

// Message content: a string, or an array of {"type": "text", "text": ...} parts (joined by "\n").
std::string message_content(const json& v, const std::string& name) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) wrong_type(name, "a string or an array of content parts", v);
  std::string text;
  for (size_t j = 0; j < v.size(); ++j) {
    std::string pname = fmt::format("{}[{}]", name, j);
    const json& part = v[j];
    if (!part.is_object()) wrong_type(pname, "an object", part);
    for (auto it = part.begin(); it != part.end(); ++it)
      if (it.key() != "type" && it.key() != "text")
        bad_request(pname + "." + it.key(), "unknown_parameter", "Unrecognized content part field '{}'.", it.key());
    if (!part.contains("type")) bad_request(pname + ".type", "missing_required_parameter", "Missing required parameter: '{}.type'.", pname);
    std::string type = as_string(part["type"], pname + ".type");
    if (type != "text")
      bad_request(pname + ".type", "invalid_value",
                  "Content part type '{}' is not supported by this server: only 'text' parts are.", type);
    if (!part.contains("text")) bad_request(pname + ".text", "missing_required_parameter", "Missing required parameter: '{}.text'.", pname);
    if (j) text += '\n';
    text += as_string(part["text"], pname + ".text");
  }
  return text;
}

// The request body: a JSON object, else 400 invalid_json.
json parse_body_object(std::string_view body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    bad_request("", "invalid_json", "The request body is not valid JSON: {}", e.what());
  }
  if (!j.is_object()) bad_request("", "invalid_json", "The request body must be a JSON object, got {}.", type_name(j));
  return j;
}

bool valid_function_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  return ok;
}

// An object's keys must be among `allowed`; `where` prefixes the field names in errors.
void only_keys(const json& obj, const std::string& where, std::initializer_list<const char*> allowed, const char* what) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok)
      bad_request(where + "." + it.key(), "unknown_parameter", "Unrecognized {} field '{}'.", what, it.key());
  }
}

const json& required_field(const json& obj, const std::string& where, const char* key) {
  if (!obj.contains(key) || obj[key].is_null())
    bad_request(where + "." + key, "missing_required_parameter", "Missing required parameter: '{}.{}'.", where, key);
  return obj[key];
}

// An assistant message's tool_calls: [{"id", "type": "function", "function": {"name", "arguments"}}].
std::vector<RequestToolCall> parse_message_tool_calls(const json& v, const std::string& where) {
  if (!v.is_array()) wrong_type(where, "an array", v);
  std::vector<RequestToolCall> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string f = fmt::format("{}[{}]", where, i);
    const json& c = v[i];
    if (!c.is_object()) wrong_type(f, "an object", c);
    only_keys(c, f, {"id", "type", "function"}, "tool call");
    RequestToolCall call;
    call.id = as_string(required_field(c, f, "id"), f + ".id");
    if (as_string(required_field(c, f, "type"), f + ".type") != "function")
      bad_request(f + ".type", "invalid_value", "Invalid value for '{}.type': only 'function' is supported.", f);
    const json& fn = required_field(c, f, "function");
    if (!fn.is_object()) wrong_type(f + ".function", "an object", fn);
    only_keys(fn, f + ".function", {"name", "arguments"}, "function");
    call.name = as_string(required_field(fn, f + ".function", "name"), f + ".function.name");
    call.arguments = as_string(required_field(fn, f + ".function", "arguments"), f + ".function.arguments");
    const json args = json::parse(call.arguments, nullptr, false);
    if (args.is_discarded() || !args.is_object())
      bad_request(f + ".function.arguments", "invalid_value",
                  "'{}.function.arguments' must be the JSON text of an object (the call's arguments).", f);
    out.push_back(std::move(call));
  }
  return out;
}

// `field` names the array in errors: "messages", or "input[2]" for a reward request's conversation.
// with_tools: chat completions also take tool messages and assistants' tool_calls.
std::vector<RequestMessage> parse_messages(const json& v, const std::string& field = "messages", bool with_tools = false) {
  if (!v.is_array()) wrong_type(field, "an array", v);
  if (v.empty()) bad_request(field, "invalid_value", "'{}' must hold at least one message.", field);
  std::vector<RequestMessage> out;
  for (size_t i = 0; i < v.size(); ++i) {
    std::string name = fmt::format("{}[{}]", field, i);
    const json& m = v[i];
    if (!m.is_object()) wrong_type(name, "an object", m);
    for (auto it = m.begin(); it != m.end(); ++it) {
      const std::string& k = it.key();
      if (k != "role" && k != "content" && k != "name" && !(with_tools && (k == "tool_calls" || k == "tool_call_id")))
        bad_request(name + "." + k, "unknown_parameter",
                    "Message field '{}' is not supported by this server (only {} are).", k,
                    with_tools ? "role, content, name, tool_calls and tool_call_id" : "role, content and name");
    }
    // A participant's name: checked, then ignored (the chat templates have no place for it).
    if (m.contains("name") && !m["name"].is_null()) as_string(m["name"], name + ".name");
    if (!m.contains("role")) bad_request(name + ".role", "missing_required_parameter", "Missing required parameter: '{}.role'.", name);
    RequestMessage msg;
    msg.role = as_string(m["role"], name + ".role");
    if (msg.role == "developer") msg.role = "system";
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant" && !(with_tools && msg.role == "tool"))
      bad_request(name + ".role", "invalid_value",
                  "Invalid value for '{}.role': '{}'; supported roles are system, developer, user, assistant{}.", name,
                  msg.role, with_tools ? " and tool" : "");
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      if (msg.role != "assistant")
        bad_request(name + ".tool_calls", "invalid_value", "Only assistant messages have 'tool_calls'.");
      msg.tool_calls = parse_message_tool_calls(m["tool_calls"], name + ".tool_calls");
    }
    if (msg.role == "tool") msg.tool_call_id = as_string(required_field(m, name, "tool_call_id"), name + ".tool_call_id");
    else if (m.contains("tool_call_id") && !m["tool_call_id"].is_null())
      bad_request(name + ".tool_call_id", "invalid_value", "Only tool messages have a 'tool_call_id'.");
    const bool may_omit = msg.role == "assistant" && !msg.tool_calls.empty();
    if (!m.contains("content") || m["content"].is_null()) {
      if (!may_omit)
        bad_request(name + ".content", "missing_required_parameter", "Missing required parameter: '{}.content'.", name);
    } else {
      msg.content = message_content(m["content"], name + ".content");
    }
    out.push_back(std::move(msg));
  }
  return out;
}

// tools: [{"type": "function", "function": {"name", "description"?, "parameters"?, "strict"?}}],
// kept as JSON text in the body's key order (the parameters' property order).
void parse_tools(const json& v, std::string_view body, CompletionRequest& r) {
  if (!v.is_array()) wrong_type("tools", "an array", v);
  if (v.empty()) bad_request("tools", "invalid_value", "'tools' must hold at least one tool (or be left out).");
  if (v.size() > 128) bad_request("tools", "invalid_value", "'tools' holds {} tools; at most 128 are allowed.", v.size());
  std::set<std::string> names;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string f = fmt::format("tools[{}]", i);
    const json& t = v[i];
    if (!t.is_object()) wrong_type(f, "an object", t);
    only_keys(t, f, {"type", "function"}, "tool");
    if (as_string(required_field(t, f, "type"), f + ".type") != "function")
      bad_request(f + ".type", "invalid_value", "Invalid value for '{}.type': only 'function' tools are supported.", f);
    const json& fn = required_field(t, f, "function");
    if (!fn.is_object()) wrong_type(f + ".function", "an object", fn);
    only_keys(fn, f + ".function", {"name", "description", "parameters", "strict"}, "function");
    const std::string name = as_string(required_field(fn, f + ".function", "name"), f + ".function.name");
    if (!valid_function_name(name))
      bad_request(f + ".function.name", "invalid_value",
                  "Invalid function name '{}': 1 to 64 characters of a-z, A-Z, 0-9, _ and -.", name);
    if (!names.insert(name).second)
      bad_request(f + ".function.name", "invalid_value", "Two tools are named '{}'.", name);
    if (fn.contains("description") && !fn["description"].is_null()) as_string(fn["description"], f + ".function.description");
    if (fn.contains("parameters") && !fn["parameters"].is_null() && !fn["parameters"].is_object())
      wrong_type(f + ".function.parameters", "an object (a JSON schema)", fn["parameters"]);
    if (fn.contains("strict") && !fn["strict"].is_null()) as_bool(fn["strict"], f + ".function.strict");
  }
  r.tools = nlohmann::ordered_json::parse(body)["tools"].dump();
}

void parse_tool_choice(const json& v, CompletionRequest& r) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "none") r.tool_choice = ToolChoice::None;
    else if (s == "auto") r.tool_choice = ToolChoice::Auto;
    else if (s == "required") r.tool_choice = ToolChoice::Required;
    else
      bad_request("tool_choice", "invalid_value",
                  "Invalid value for 'tool_choice': '{}'. Supported values are: 'none', 'auto', 'required' or "
                  "{{\"type\": \"function\", \"function\": {{\"name\": ...}}}}.",
                  s);
    return;
  }
  if (!v.is_object()) wrong_type("tool_choice", "a string or an object", v);
  only_keys(v, "tool_choice", {"type", "function"}, "tool_choice");
  if (as_string(required_field(v, "tool_choice", "type"), "tool_choice.type") != "function")
    bad_request("tool_choice.type", "invalid_value", "Invalid value for 'tool_choice.type': only 'function' is supported.");
  const json& fn = required_field(v, "tool_choice", "function");
  if (!fn.is_object()) wrong_type("tool_choice.function", "an object", fn);
  only_keys(fn, "tool_choice.function", {"name"}, "tool_choice.function");
  r.tool_choice = ToolChoice::Named;
  r.tool_choice_name = as_string(required_field(fn, "tool_choice.function", "name"), "tool_choice.function.name");
}

std::vector<std::string> parse_stop(const json& v) {
  std::vector<std::string> stop;
  if (v.is_string()) {
    stop.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    if (v.size() > 4) bad_request("stop", "invalid_value", "'stop' holds {} strings; at most 4 are allowed.", v.size());
    for (size_t i = 0; i < v.size(); ++i) stop.push_back(as_string(v[i], fmt::format("stop[{}]", i)));
  } else {
    wrong_type("stop", "a string or an array of strings", v);
  }
  for (const auto& s : stop)
    if (s.empty()) bad_request("stop", "invalid_value", "'stop' strings must not be empty.");
  return stop;
}

std::unordered_map<int32_t, float> parse_logit_bias(const json& v) {
  if (!v.is_object()) wrong_type("logit_bias", "an object mapping token ids to biases", v);
  if (v.size() > 1024) bad_request("logit_bias", "invalid_value", "'logit_bias' holds {} entries; at most 1024 are allowed.", v.size());
  std::unordered_map<int32_t, float> bias;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& key = it.key();
    int32_t id = -1;
    auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (key.empty() || ec != std::errc() || ptr != key.data() + key.size() || id < 0)
      bad_request("logit_bias", "invalid_value", "Invalid key in 'logit_bias': '{}' is not a token id.", key);
    bias[id] = static_cast<float>(number_in(it.value(), "logit_bias." + key, -100, 100));
  }
  return bias;
}

// Fields OpenAI defines that baimo does not implement: named as such rather than as unknown.
const std::set<std::string, std::less<>>& unsupported_fields() {
  static const std::set<std::string, std::less<>> s = {
      "functions", "function_call", "audio", "modalities", "prediction",
      "reasoning_effort", "service_tier", "web_search_options", "suffix", "best_of", "echo"};
  return s;
}

// response_format: text, json_object, or json_schema with its schema kept in the body's key order.
void check_response_format(const json& v, std::string_view body, CompletionRequest& r) {
  if (!v.is_object()) wrong_type("response_format", "an object", v);
  if (!v.contains("type"))
    bad_request("response_format.type", "missing_required_parameter", "Missing required parameter: 'response_format.type'.");
  std::string type = as_string(v["type"], "response_format.type");
  for (auto it = v.begin(); it != v.end(); ++it)
    if (it.key() != "type" && !(type == "json_schema" && it.key() == "json_schema"))
      bad_request("response_format." + it.key(), "unknown_parameter", "Unrecognized response_format field '{}'.", it.key());
  if (type == "text") return;
  if (type == "json_object") {
    r.response_format = ResponseFormat::JsonObject;
    return;
  }
  if (type != "json_schema")
    bad_request("response_format.type", "invalid_value",
                "Invalid value: '{}'. Supported values are: 'text', 'json_object' and 'json_schema'.", type);
  if (!v.contains("json_schema"))
    bad_request("response_format.json_schema", "missing_required_parameter",
                "Missing required parameter: 'response_format.json_schema'.");
  const json& js = v["json_schema"];
  if (!js.is_object()) wrong_type("response_format.json_schema", "an object", js);
  for (auto it = js.begin(); it != js.end(); ++it) {
    const std::string& k = it.key();
    const std::string where = "response_format.json_schema." + k;
    if (k == "name") {
      std::string name = as_string(it.value(), where);
      bool ok = !name.empty() && name.size() <= 64;
      for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
      if (!ok) bad_request(where, "invalid_value", "'{}' must be 1 to 64 characters of a-z, A-Z, 0-9, _ and -.", where);
    } else if (k == "description") {
      as_string(it.value(), where);
    } else if (k == "strict") {
      if (!it.value().is_null()) as_bool(it.value(), where);
    } else if (k == "schema") {
      if (!it.value().is_object()) wrong_type(where, "an object", it.value());
    } else {
      bad_request(where, "unknown_parameter", "Unrecognized response_format.json_schema field '{}'.", k);
    }
  }
  if (!js.contains("name"))
    bad_request("response_format.json_schema.name", "missing_required_parameter",
                "Missing required parameter: 'response_format.json_schema.name'.");
  r.response_format = ResponseFormat::JsonSchema;
  r.json_schema = "{}";
  if (js.contains("schema")) {  // again, keeping the key order (nlohmann::json sorts keys)
    const auto ordered = nlohmann::ordered_json::parse(body);
    r.json_schema = ordered["response_format"]["json_schema"]["schema"].dump();
  }
}

// metadata: up to 16 string values (OpenAI's limits); baimo stores nothing, so it is ignored.
void check_metadata(const json& v) {
  if (!v.is_object()) wrong_type("metadata", "an object of strings", v);
  if (v.size() > 16) bad_request("metadata", "invalid_value", "'metadata' holds {} keys; at most 16 are allowed.", v.size());
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key().size() > 64) bad_request("metadata", "invalid_value", "'metadata' keys are at most 64 characters.");
    std::string value = as_string(it.value(), "metadata." + it.key());
    if (value.size() > 512) bad_request("metadata." + it.key(), "invalid_value", "'metadata' values are at most 512 characters.");
  }
}

}  // namespace

CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint) {
  const json j = parse_body_object(body);
  const bool chat = endpoint == Endpoint::Chat;
  CompletionRequest r;
  r.endpoint = endpoint;
  bool have_prompt = false, have_messages = false;
  std::optional<int64_t> max_tokens, max_completion_tokens;
  std::optional<bool> logprobs_flag;
  std::optional<int64_t> top_logprobs;
  const json* stream_options = nullptr;
  const json* tool_choice = nullptr;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    // Completions' no-op forms of unsupported fields: best_of=1 or n, suffix empty.
    if (!chat && v.is_null() && (k == "suffix" || k == "best_of")) continue;
    if (!chat && k == "suffix" && v.is_string() && v.get<std::string>().empty()) continue;
    if (!chat && k == "best_of" && v.is_number_integer() && v.get<int64_t>() == 1) continue;
    if (v.is_null() && k != "model" && k != "messages" && k != "prompt") continue;  // null = absent
    if (k == "model") r.model = as_string(v, k);
    else if (chat && k == "messages") r.messages = parse_messages(v, "messages", true), have_messages = true;
    else if (chat && k == "tools") parse_tools(v, body, r);
    else if (chat && k == "tool_choice") tool_choice = &v;
    else if (chat && k == "parallel_tool_calls") r.parallel_tool_calls = as_bool(v, k);
    else if (!chat && k == "prompt") {
      have_prompt = true;
      if (v.is_string()) {
        r.prompt = v.get<std::string>();
      } else if (v.is_array() && v.size() == 1 && v[0].is_string()) {
        r.prompt = v[0].get<std::string>();
      } else if (v.is_array() && !v.empty() && (v[0].is_number() || (v.size() == 1 && v[0].is_array()))) {
        const json& ids = v[0].is_array() ? v[0] : v;
        std::vector<int32_t> tokens;
        for (size_t i = 0; i < ids.size(); ++i)
          tokens.push_back(static_cast<int32_t>(integer_in(ids[i], fmt::format("prompt[{}]", i), 0, INT32_MAX)));
        if (tokens.empty()) bad_request("prompt", "invalid_value", "'prompt' must not be empty.");
        r.prompt_tokens = std::move(tokens);
      } else if (v.is_array() && v.size() > 1) {
        bad_request("prompt", "invalid_value",
                    "'prompt' holds {} prompts; this server takes one prompt per request (use n for several answers).",
                    v.size());
      } else {
        wrong_type("prompt", "a string, an array of one string or an array of token ids", v);
      }
    } else if (k == "max_tokens") max_tokens = integer_in(v, k, chat ? 1 : 0, INT32_MAX);
    else if (!chat && k == "echo") r.echo = as_bool(v, k);
    else if (chat && k == "max_completion_tokens") max_completion_tokens = integer_in(v, k, 1, INT32_MAX);
    else if (k == "temperature") r.temperature = static_cast<float>(number_in(v, k, 0, 2));
    else if (k == "top_p") r.top_p = static_cast<float>(number_in(v, k, 0, 1));
    else if (k == "top_k") r.top_k = static_cast<int>(integer_in(v, k, 0, 1 << 24));
    else if (k == "min_p") r.min_p = static_cast<float>(number_in(v, k, 0, 1));
    else if (k == "repetition_penalty") r.repetition_penalty = static_cast<float>(number_in(v, k, 0, 10, true));
    else if (k == "presence_penalty") r.presence_penalty = static_cast<float>(number_in(v, k, -2, 2));
    else if (k == "frequency_penalty") r.frequency_penalty = static_cast<float>(number_in(v, k, -2, 2));
    else if (k == "logit_bias") r.logit_bias = parse_logit_bias(v);
    else if (k == "stop") r.stop = parse_stop(v);
    else if (k == "n") r.n = static_cast<int>(integer_in(v, k, 1, 16));
    else if (k == "seed") r.seed = static_cast<uint64_t>(as_integer(v, k));
    else if (chat && k == "logprobs") logprobs_flag = as_bool(v, k);
    else if (!chat && k == "logprobs") top_logprobs = integer_in(v, k, 0, 5), logprobs_flag = true;
    else if (chat && k == "top_logprobs") top_logprobs = integer_in(v, k, 0, 20);
    else if (k == "user") r.user = as_string(v, k);
    else if (k == "stream") r.stream = as_bool(v, k);
    else if (k == "stream_options") stream_options = &v;
    else if (chat && k == "response_format") check_response_format(v, body, r);
    else if (chat && k == "store") as_bool(v, k);                // nothing is stored either way
    else if (chat && k == "metadata") check_metadata(v);          // only meaningful with store
    else if (unsupported_fields().count(k))
      bad_request(k, "unsupported_parameter", "'{}' is not supported by this server.", k);
    else
      bad_request(k, "unknown_parameter", "Unrecognized request argument supplied: {}", k);
  }
  if (r.model.empty()) bad_request("model", "missing_required_parameter", "Missing required parameter: 'model'.");
  if (chat && !have_messages) bad_request("messages", "missing_required_parameter", "Missing required parameter: 'messages'.");
  if (!chat && !have_prompt) bad_request("prompt", "missing_required_parameter", "Missing required parameter: 'prompt'.");
  if (max_tokens && max_completion_tokens && *max_tokens != *max_completion_tokens)
    bad_request("max_tokens", "invalid_value", "'max_tokens' ({}) and 'max_completion_tokens' ({}) disagree.",
                *max_tokens, *max_completion_tokens);
  r.max_tokens = max_completion_tokens ? max_completion_tokens : max_tokens;
  if (!r.tools.empty()) r.tool_choice = ToolChoice::Auto;
  if (tool_choice) {
    if (r.tools.empty())
      bad_request("tool_choice", "invalid_value", "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.");
    parse_tool_choice(*tool_choice, r);
    if (r.tool_choice == ToolChoice::Named) {
      bool found = false;
      for (const auto& t : json::parse(r.tools)) found = found || t["function"]["name"] == r.tool_choice_name;
      if (!found)
        bad_request("tool_choice.function.name", "invalid_value", "'tool_choice' names the function '{}', which is not in 'tools'.",
                    r.tool_choice_name);
    }
  }
  if (r.tool_choice != ToolChoice::None && r.tool_choice != ToolChoice::Auto && r.response_format != ResponseFormat::Text)
    bad_request("response_format", "invalid_value",
                "'response_format' {} cannot be combined with tool_choice '{}': the tool call's arguments are already constrained by its schema.",
                r.response_format == ResponseFormat::JsonObject ? "json_object" : "json_schema",
                r.tool_choice == ToolChoice::Required ? "required" : "a named function");
  if (r.max_tokens == 0 && !r.echo)
    bad_request("max_tokens", "invalid_value", "'max_tokens' is 0: that is only allowed with 'echo' true (the prompt's log-probs).");
  if (r.echo && r.stream)
    bad_request("echo", "unsupported_parameter", "'echo' is not supported with 'stream' by this server.");
  // top_p 0 keeps only the most likely token: greedy decoding, as temperature 0.
  if (r.top_p == 0.0f) r.top_p = 1.0f, r.temperature = 0.0f;
  if (chat && top_logprobs && !logprobs_flag.value_or(false))
    bad_request("top_logprobs", "invalid_value", "'top_logprobs' requires 'logprobs' to be true.");
  r.logprobs = logprobs_flag.value_or(false);
  r.top_logprobs = static_cast<int>(top_logprobs.value_or(0));
  if (stream_options) {
    if (!r.stream)
      bad_request("stream_options", "invalid_value", "'stream_options' is only allowed when 'stream' is true.");
    if (!stream_options->is_object()) wrong_type("stream_options", "an object", *stream_options);
    for (auto it = stream_options->begin(); it != stream_options->end(); ++it) {
      if (it.key() == "include_usage") {
        if (!it.value().is_null()) r.include_usage = as_bool(it.value(), "stream_options.include_usage");
      } else {
        bad_request("stream_options." + it.key(), "unknown_parameter", "Unrecognized stream option: {}", it.key());
      }
    }
  }
  return r;
}

RewardRequest parse_reward_request(std::string_view body) {
  const json j = parse_body_object(body);
  RewardRequest r;
  bool have_messages = false, have_input = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (v.is_null() && k != "messages" && k != "input") continue;  // null = absent
    if (k == "model") {
      r.model = as_string(v, k);
    } else if (k == "user") {
      as_string(v, k);
    } else if (k == "items") {  // eval/rewards.h url:URL sends its items besides "input": not used here
      if (!v.is_array()) wrong_type(k, "an array", v);
    } else if (k == "messages") {
      r.conversations.push_back(parse_messages(v));
      have_messages = true;
    } else if (k == "input") {
      if (!v.is_array()) wrong_type(k, "an array of conversations (arrays of messages)", v);
      if (v.empty()) bad_request(k, "invalid_value", "'input' must hold at least one conversation.");
      if (v.size() > kMaxRewardConversations)
        bad_request(k, "invalid_value", "'input' holds {} conversations; at most {} per request.", v.size(),
                    kMaxRewardConversations);
      for (size_t i = 0; i < v.size(); ++i) r.conversations.push_back(parse_messages(v[i], fmt::format("input[{}]", i)));
      have_input = true;
    } else {
      bad_request(k, "unknown_parameter", "Unrecognized request argument supplied: {}", k);
    }
  }
  if (have_messages && have_input)
    bad_request("input", "invalid_value", "Give either 'messages' (one conversation) or 'input' (several), not both.");
  if (!have_messages && !have_input)
    bad_request("messages", "missing_required_parameter",
                "Missing required parameter: 'messages' (one conversation) or 'input' (a list of conversations).");
  return r;
}

}  // namespace baimo::serve
