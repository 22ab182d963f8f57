#include "baimo/serve/api_error.h"

#include <nlohmann/json.hpp>

namespace baimo::serve {

nlohmann::json error_json(const ApiError& e) {
  nlohmann::json err = {{"message", e.what()}, {"type", e.type}, {"param", nullptr}, {"code", nullptr}};
  if (!e.param.empty()) err["param"] = e.param;
  if (!e.code.empty()) err["code"] = e.code;
  return {{"error", std::move(err)}};
}

std::string error_body(const ApiError& e) { return dump_json(error_json(e)); }

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace baimo::serve
