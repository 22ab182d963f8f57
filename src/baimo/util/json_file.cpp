#include "baimo/util/json_file.h"

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for numbers like 9e999
    fail("{}: not valid JSON: {}", path, e.what());
  }
}

}  // namespace baimo
