// Server-sent events framing for streamed completions (text/event-stream).
// Contract: one event per JSON object, "data: <json>\n\n"; the stream ends with "data: [DONE]\n\n";
// a comment line ": ...\n\n" keeps an idle connection alive and lets the server notice a client
// that has gone (the write fails) while a request waits in the queue or its prompt is prefilled.
#pragma once
#include <string>
#include <string_view>

#include "baimo/serve/api_error.h"

namespace baimo::serve {

inline std::string sse_event(const nlohmann::json& j) { return "data: " + dump_json(j) + "\n\n"; }
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";
inline constexpr std::string_view kSseKeepAlive = ": keep-alive\n\n";

}  // namespace baimo::serve
