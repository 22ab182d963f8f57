#include "baimo/eval/api_response.h"

#include <algorithm>

#include "baimo/util/error.h"

namespace baimo::eval {
namespace {
using json = nlohmann::json;

[[noreturn]] void missing(const std::string& where, const std::string& field, const char* what) {
  fail("{}: the response has no {} ({})", where, field, what);
}

const json& field(const json& obj, const char* key, const std::string& path, const std::string& where,
                  bool (json::*is)() const noexcept, const char* what) {
  if (!obj.is_object() || !obj.contains(key) || !(obj[key].*is)()) missing(where, path, what);
  return obj[key];
}

const json& choices_of(const json& r, const std::string& where) {
  const json& c = field(r, "choices", "choices", where, &json::is_array, "a list");
  if (c.empty()) missing(where, "choices[0]", "an object");
  return c;
}

}  // namespace

double continuation_loglik(const json& r, size_t context_bytes, size_t prompt_bytes, const std::string& where) {
  const json& lp = field(choices_of(r, where)[0], "logprobs", "choices[0].logprobs", where, &json::is_object,
                         "an object: the server must support echo with logprobs");
  const json& tokens = field(lp, "tokens", "choices[0].logprobs.tokens", where, &json::is_array, "a list");
  const json& lps = field(lp, "token_logprobs", "choices[0].logprobs.token_logprobs", where, &json::is_array, "a list");
  const json& offsets = field(lp, "text_offset", "choices[0].logprobs.text_offset", where, &json::is_array,
                              "a list of integers");
  const size_t n = tokens.size();
  if (lps.size() != n || offsets.size() != n)
    fail("{}: choices[0].logprobs has {} tokens, {} token_logprobs and {} text_offsets; they must agree", where, n,
         lps.size(), offsets.size());
  for (size_t i = 0; i < n; ++i)
    if (!offsets[i].is_number_integer() || offsets[i].get<int64_t>() < 0)
      missing(where, "choices[0].logprobs.text_offset[" + std::to_string(i) + "]", "an integer >= 0");
  double sum = 0;
  size_t used = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t end = i + 1 < n ? offsets[i + 1].get<size_t>() : prompt_bytes;
    if (end <= context_bytes) continue;
    const std::string path = "choices[0].logprobs.token_logprobs[" + std::to_string(i) + "]";
    if (lps[i].is_null())
      fail("{}: {} is null: the continuation starts the prompt, so nothing predicts its first token (an empty "
           "context needs a BOS token, which this server's model does not add)",
           where, path);
    if (!lps[i].is_number()) missing(where, path, "a number");
    sum += lps[i].get<double>();
    ++used;
  }
  if (used == 0)
    fail("{}: no token of the answer's echoed prompt lies after the context's {} bytes (is 'echo' supported?)", where,
         context_bytes);
  return sum;
}

std::vector<ApiSample> generation_samples(const json& r, bool chat, int n, const std::string& where) {
  const json& choices = choices_of(r, where);
  if (choices.size() != static_cast<size_t>(n))
    fail("{}: the response has {} choices; {} were asked for (n)", where, choices.size(), n);
  std::vector<ApiSample> out(static_cast<size_t>(n));
  std::vector<bool> seen(static_cast<size_t>(n), false);
  int64_t usage_tokens = -1;
  if (r.contains("usage") && r["usage"].is_object() && r["usage"].contains("completion_tokens") &&
      r["usage"]["completion_tokens"].is_number_integer())
    usage_tokens = r["usage"]["completion_tokens"].get<int64_t>();
  for (size_t k = 0; k < choices.size(); ++k) {
    const std::string at = "choices[" + std::to_string(k) + "]";
    const json& c = choices[k];
    size_t index = k;
    if (c.is_object() && c.contains("index")) {
      if (!c["index"].is_number_integer() || c["index"].get<int64_t>() < 0 || c["index"].get<int64_t>() >= n)
        missing(where, at + ".index", "an integer below n");
      index = c["index"].get<size_t>();
    }
    if (seen[index]) fail("{}: two choices have index {}", where, index);
    seen[index] = true;
    ApiSample& s = out[index];
    if (chat) {
      const json& m = field(c, "message", at + ".message", where, &json::is_object, "an object");
      if (!m.contains("content") || !(m["content"].is_string() || m["content"].is_null()))
        missing(where, at + ".message.content", "a string");
      s.text = m["content"].is_null() ? "" : m["content"].get<std::string>();
    } else {
      s.text = field(c, "text", at + ".text", where, &json::is_string, "a string").get<std::string>();
    }
    const json& reason = field(c, "finish_reason", at + ".finish_reason", where, &json::is_string, "a string");
    s.stopped = reason.get<std::string>() == "stop";
    const json* lp = c.contains("logprobs") && c["logprobs"].is_object() ? &c["logprobs"] : nullptr;
    const char* list = chat ? "content" : "tokens";
    if (lp && lp->contains(list) && (*lp)[list].is_array()) s.tokens = static_cast<int64_t>((*lp)[list].size());
    else if (usage_tokens >= 0) s.tokens = usage_tokens / n;
    else missing(where, at + ".logprobs." + list + " or usage.completion_tokens", "the answer's token count");
  }
  return out;
}

}  // namespace baimo::eval
