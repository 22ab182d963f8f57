// python_json_dumps: JSON text as Python's json.dumps(x, ensure_ascii=False) writes it (what Hugging
// Face chat templates' `tojson` and LLaMA-Factory's tool formatters emit): separators ", " and ": ",
// object keys in their original order (parse with nlohmann::ordered_json), non-ASCII characters as
// they are, control characters, '"' and '\' escaped. Integers exactly; floats in nlohmann's shortest
// round-trip form, which agrees with Python's repr for ordinary values.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace baimo {

std::string python_json_dumps(const nlohmann::ordered_json& value);

}  // namespace baimo
