// libFuzzer target: arbitrary bytes as a config.json. Parsing must either give a config that passes
// validate() and survives a JSON round trip, or throw baimo::Error -- never crash or throw anything else.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "baimo/model/config.h"
#include "baimo/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    baimo::ModelConfig c = baimo::parse_model_config_text(text, "fuzz/config.json");
    c.validate("fuzz/config.json");
    baimo::ModelConfig d = baimo::parse_model_config(baimo::model_config_to_json(c), "round trip");
    if (baimo::model_config_to_json(d) != baimo::model_config_to_json(c)) std::abort();
  } catch (const baimo::Error&) {
  }
  return 0;
}
