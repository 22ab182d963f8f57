#include "baimo/serve/http_checks.h"

#include <cstdint>
#include <limits>

#include "baimo/serve/web_assets.h"

namespace baimo::serve {
namespace {

ApiError bad_head(const std::string& message) {
  return ApiError(400, message, "invalid_request_error", "", "invalid_request_head");
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// 1*DIGIT, saturating at UINT64_MAX.
std::optional<uint64_t> decimal(const std::string& s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    v = v > (std::numeric_limits<uint64_t>::max() - d) / 10 ? std::numeric_limits<uint64_t>::max() : v * 10 + d;
  }
  return v;
}

}  // namespace

std::optional<ApiError> body_framing_error(const std::vector<std::string>& content_lengths,
                                           const std::vector<std::string>& transfer_encodings, size_t max_body) {
  std::optional<uint64_t> length;
  for (const auto& raw : content_lengths) {
    auto v = decimal(trim(raw));
    if (!v) return bad_head("Invalid Content-Length header '" + raw + "': expected a non-negative decimal number.");
    if (length && *length != *v) return bad_head("Conflicting Content-Length headers.");
    length = v;
  }
  if (!transfer_encodings.empty()) {
    if (length) return bad_head("A request must not have both Content-Length and Transfer-Encoding.");
    if (transfer_encodings.size() != 1 || lower(trim(transfer_encodings[0])) != "chunked")
      return bad_head("Unsupported Transfer-Encoding: only a single 'chunked' is accepted.");
  }
  if (length && *length > max_body)
    return ApiError(413, "The request body is larger than the limit of " + std::to_string(max_body) + " bytes.",
                    "invalid_request_error", "", "request_too_large");
  return std::nullopt;
}

std::optional<std::string> bearer_key(const std::string& authorization) {
  const std::string a = trim(authorization);
  const size_t space = a.find_first_of(" \t");
  if (space == std::string::npos || lower(a.substr(0, space)) != "bearer") return std::nullopt;
  std::string key = trim(a.substr(space));
  if (key.empty()) return std::nullopt;
  return key;
}

std::string allowed_methods(const std::string& path) {
  if (path == "/v1/chat/completions" || path == "/v1/completions" || path == "/v1/rewards") return "POST";
  if (path == "/v1/models" || path.rfind("/v1/models/", 0) == 0 || path == "/health" || path == "/metrics" ||
      find_web_asset(path))
    return "GET, HEAD";
  return "";
}

}  // namespace baimo::serve
