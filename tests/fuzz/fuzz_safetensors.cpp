// libFuzzer target: arbitrary bytes as a safetensors file. Parsing must either succeed or throw
// baimo::Error; on success every tensor's bytes lie inside the input and every tensor converts (float or integer).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "baimo/io/safetensors.h"
#include "baimo/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  try {
    baimo::SafetensorsView v(in, "fuzz.safetensors");
    for (const auto& t : v.tensors()) {
      if (t.bytes.size() && (t.bytes.data() < data || t.bytes.data() + t.bytes.size() > data + size)) std::abort();
      if (t.dtype == baimo::DType::F32 || t.dtype == baimo::DType::F16 || t.dtype == baimo::DType::BF16) {
        if (t.numel() > (1 << 20)) continue;
        std::vector<float> out(static_cast<size_t>(t.numel()));
        v.read_f32(t, out);
      } else {
        v.read_i64(t.name);
      }
    }
  } catch (const baimo::Error&) {
  }
  return 0;
}
