#include "baimo/model/open_model.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "baimo/util/error.h"

namespace baimo {

ModelPath open_model(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail("{}: no such model directory or file", path);
  if (fs::is_directory(st)) return {path, ModelFormat::Directory};
  char magic[4] = {};
  size_t got = 0;
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    got = std::fread(magic, 1, sizeof magic, f);
    std::fclose(f);
  } else {
    fail("{}: cannot open", path);
  }
  if (got == 4 && std::memcmp(magic, "GGUF", 4) == 0) return {path, ModelFormat::Gguf};
  if (fs::path(path).extension() == ".gguf") fail("GGUF file {}: bad magic (expected \"GGUF\" at byte 0)", path);
  return {path, ModelFormat::Other};
}

}  // namespace baimo
