// libFuzzer target: arbitrary bytes as a GGUF file. Parsing must either succeed or throw baimo::Error;
// on success every tensor's data lies inside the input, every metadata value can be read through the
// typed getters (or throws baimo::Error for a type mismatch), and building a tokenizer from it either
// succeeds (then a short text round-trips through encode/decode) or throws baimo::Error; reading it
// as a model (config from the llama/qwen2 metadata, every parameter's tensor checked and converted
// to f32 in HF layout) either succeeds or throws baimo::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/gguf_model_meta.h"
#include "baimo/io/gguf_reader.h"
#include "baimo/convert/gguf_tokenizer.h"
#include "baimo/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    baimo::GgufReader r(in, "fuzz.gguf");
    for (const auto& t : r.tensors())
      if (t.n_bytes && (t.data < data || t.data + t.n_bytes > data + size)) std::abort();
    for (const auto& kv : r.metadata()) {
      try {
        switch (kv.value.type) {
          case baimo::GgufValueType::String: r.get_string(kv.key); break;
          case baimo::GgufValueType::F32: case baimo::GgufValueType::F64: r.get_float(kv.key); break;
          case baimo::GgufValueType::Bool: r.get_bool(kv.key); break;
          case baimo::GgufValueType::Array:
            if (kv.value.elem_type == baimo::GgufValueType::String) r.string_array(kv.key);
            else if (kv.value.count < (1u << 20)) r.int_array(kv.key);
            break;
          default: r.get_int(kv.key); break;
        }
      } catch (const baimo::Error&) {
      }
    }
    try {
      const baimo::ModelConfig c = baimo::gguf_read_config(r);
      std::vector<float> buf;
      for (const baimo::ParamSpec& p : baimo::param_layout(c)) {
        baimo::gguf_param_tensor(r, p);  // present, shape matches: its data lies inside the input
        buf.resize(static_cast<size_t>(p.numel()));
        baimo::read_gguf_tensor_f32(r, c, p, buf);
      }
    } catch (const baimo::Error&) {
    }
    baimo::Tokenizer tok = baimo::tokenizer_from_gguf(r);
    // Round trip holds when every byte has a normal token; a vocabulary missing some byte falls
    // back to an added token spelled as that byte's GPT-2 character (as llama.cpp does), which
    // decodes to that spelling instead (tokenizer.h).
    bool every_byte_normal = true;
    for (int b = 0; b < 256 && every_byte_normal; ++b) {
      auto id = tok.token_to_id(std::string(1, static_cast<char>(b)));
      every_byte_normal = id && !tok.is_added(*id);
    }
    std::string text = "Hello 你好 123";
    std::string decoded = tok.decode(tok.encode(text));
    if (every_byte_normal && decoded != text) std::abort();
  } catch (const baimo::Error&) {
  }
  return 0;
}
