// ApiError: a request the server answers with an error, in OpenAI's shape
//   {"error": {"message": ..., "type": ..., "param": ... | null, "code": ... | null}}
// Contract: thrown by request parsing/validation and the HTTP layer; `status` is the HTTP code
// (400 bad request, 401 bad key, 404 unknown route/model, 413 body too large, 429 queue full,
// 500 real faults only). `param` names the offending request field ("" -> null).
#pragma once
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json_fwd.hpp>

namespace baimo::serve {

struct ApiError : std::runtime_error {
  int status;
  std::string type;   // invalid_request_error | authentication_error | not_found_error | ...
  std::string param;  // "" -> null
  std::string code;   // "" -> null
  ApiError(int status, std::string message, std::string type, std::string param = "", std::string code = "")
      : std::runtime_error(std::move(message)), status(status), type(std::move(type)),
        param(std::move(param)), code(std::move(code)) {}
};

// 400 invalid_request_error naming `param`.
template <class... Args>
[[noreturn]] void bad_request(std::string param, std::string code, fmt::format_string<Args...> f, Args&&... args) {
  throw ApiError(400, fmt::format(f, std::forward<Args>(args)...), "invalid_request_error", std::move(param),
                 std::move(code));
}

// The JSON body of an error answer.
nlohmann::json error_json(const ApiError& e);
std::string error_body(const ApiError& e);

// Serialises JSON for the wire: compact, invalid UTF-8 (a token that is half a character)
// replaced by U+FFFD instead of throwing.
std::string dump_json(const nlohmann::json& j);

}  // namespace baimo::serve
