// Tokenizers stored in GGUF files, and opening any tokenizer file by path.
// Contract:
// - tokenizer_from_gguf: tokenizer.ggml.model must be "gpt2" (byte-level BPE); tokens (string
//   array, GPT-2 byte-to-unicode form), merges ("a b" strings, rank = index), token_type (1 normal,
//   3 control, 4 user-defined, 5 unused, 6 byte, ...: control and user-defined tokens become added
//   tokens, control ones special; unused ids are gaps that decode to nothing), bos/eos ids (tokenizer.ggml.bos_token_id / eos_token_id, checked < n),
//   add_bos (tokenizer.ggml.add_bos_token; absent: true for the llama3/llama-bpe/llama-v3 pre-tokenizers when a
//   bos id exists, as llama.cpp does; true without a bos id is an error),
//   tokenizer.ggml.pre picks the pre-tokenizer ("gpt-2"/"gpt2"/absent -> Gpt2, "deepseek-coder",
//   "llama3"/"llama-bpe" -> Cl100k, "qwen2" -> Qwen2, "baimo" -> Baimo (baimo's own split pattern, written by gguf_model_meta.h), ...; unknown -> baimo::Error naming it).
//   Anything malformed throws baimo::Error naming the file and key.
// - load_tokenizer(path, tiktoken_pattern): a directory -> its tokenizer.json; a GGUF file (by its
//   magic, whatever its name: model/open_model.h) -> GGUF; *.json -> tokenizer.json; anything else -> a tiktoken rank file with pattern `tiktoken_pattern` ("cl100k"/"o200k";
//   empty: guessed from the file name: contains "o200k" -> O200k, else Cl100k).
#pragma once
#include <string>

#include "baimo/io/gguf_reader.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

Tokenizer tokenizer_from_gguf(const GgufReader& gguf);
Tokenizer load_tokenizer(const std::string& path, const std::string& tiktoken_pattern = "");

}  // namespace baimo
