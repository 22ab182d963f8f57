// TempDir (for tests): a fresh directory under the system temp dir, named <prefix><pid>, removed
// with everything in it when the object goes. file(name, content) writes a file there, returns its path.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <string>

#include "baimo/util/file_io.h"

namespace baimo {

struct TempDir {
  std::filesystem::path dir;
  explicit TempDir(const std::string& prefix)
      : dir(std::filesystem::temp_directory_path() / (prefix + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name, const std::string& content) const {
    std::string p = (dir / name).string();
    write_file_atomic(p, content);
    return p;
  }
};

}  // namespace baimo
