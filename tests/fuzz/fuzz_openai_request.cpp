// libFuzzer target: arbitrary bytes as the body of POST /v1/chat/completions and /v1/completions.
// Parsing must either give a request whose fields are inside the documented ranges, or throw
// serve::ApiError with status 400 -- never crash, hang or throw anything else. The error body must
// serialise (dump_json) even when the message quotes invalid UTF-8 from the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "baimo/serve/api_error.h"
#include "baimo/serve/openai_request.h"

using baimo::serve::Endpoint;

static void check(const std::string& body, Endpoint e) {
  try {
    auto r = baimo::serve::parse_completion_request(body, e);
    if (r.model.empty() || r.n < 1 || r.n > 16 || r.temperature < 0 || r.temperature > 2 || !(r.top_p > 0) ||
        r.top_p > 1 || r.stop.size() > 4 || r.top_logprobs < 0 || r.top_logprobs > 20 ||
        (r.max_tokens && *r.max_tokens < 1) || (r.include_usage && !r.stream))
      std::abort();
    if (e == Endpoint::Chat && r.messages.empty()) std::abort();
    for (auto& [id, bias] : r.logit_bias)
      if (id < 0 || bias < -100 || bias > 100) std::abort();
    // Tools: a JSON array whenever given, a choice only with them, a named choice among them; calls
    // only on assistant messages, with object arguments.
    if (r.tools.empty()) {
      if (r.tool_choice != baimo::serve::ToolChoice::None) std::abort();
    } else {
      const auto tools = nlohmann::json::parse(r.tools);
      if (!tools.is_array() || tools.empty()) std::abort();
      if (r.tool_choice == baimo::serve::ToolChoice::Named) {
        bool found = false;
        for (const auto& t : tools) found = found || t["function"]["name"] == r.tool_choice_name;
        if (!found) std::abort();
      }
    }
    for (const auto& m : r.messages)
      for (const auto& c : m.tool_calls)
        if (m.role != "assistant" || !nlohmann::json::parse(c.arguments).is_object()) std::abort();
  } catch (const baimo::serve::ApiError& err) {
    if (err.status != 400) std::abort();
    (void)baimo::serve::error_body(err);
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  check(body, Endpoint::Chat);
  check(body, Endpoint::Completion);
  return 0;
}
