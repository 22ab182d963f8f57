// llama.cpp's token types (enum llama_token_type), the values of the GGUF array tokenizer.ggml.token_type:
// read by gguf_tokenizer.cpp, written by gguf_model_meta.cpp.
#pragma once
#include <cstdint>

namespace baimo::llama_token_type {

enum : int32_t { kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

}  // namespace baimo::llama_token_type
