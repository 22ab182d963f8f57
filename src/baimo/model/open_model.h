// open_model(path): what a model path names, decided in one place for every loader (inference
// weights, tokenizers, `baimo model info`, quantize / convert):
//   - a directory: a Hugging Face model directory (model_dir.h);
//   - a file that starts with the GGUF magic "GGUF": a GGUF file, whatever its name (x.bin too);
//   - a file named *.gguf without the magic: baimo::Error ("bad magic", as io/gguf_reader.h says);
//   - any other file: ModelFormat::Other (a tokenizer.json or tiktoken file for tokenizer loading;
//     model loaders reject it with their own message).
// Only the first 4 bytes are read. A missing path throws baimo::Error naming it.
#pragma once
#include <string>

namespace baimo {

enum class ModelFormat { Directory, Gguf, Other };

struct ModelPath {
  std::string path;
  ModelFormat format = ModelFormat::Other;
  bool is_dir() const { return format == ModelFormat::Directory; }
  bool is_gguf() const { return format == ModelFormat::Gguf; }
};

ModelPath open_model(const std::string& path);

}  // namespace baimo
