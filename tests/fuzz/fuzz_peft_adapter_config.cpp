// libFuzzer target: arbitrary bytes as a PEFT adapter_config.json. Parsing must either give a LoRA
// config that passes validate() or throw baimo::Error -- never crash or throw anything else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "baimo/convert/peft_adapter.h"
#include "baimo/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    baimo::LoraConfig c = baimo::parse_peft_adapter_config(text, "fuzz/adapter_config.json");
    c.validate("fuzz/adapter_config.json");
  } catch (const baimo::Error&) {
  }
  return 0;
}
