#include "baimo/util/output_path.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "baimo/util/error.h"

namespace baimo {

namespace fs = std::filesystem;

namespace {

void ensure_dir(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return;
  if (fs::exists(path, ec)) fail("{}: exists and is not a directory", path);
  fs::create_directories(path, ec);
  if (ec) fail("cannot create directory {}: {}", path, ec.message());
}

void check_writable_dir(const std::string& dir, const std::string& for_path) {
  const std::string probe = (fs::path(dir) / (".baimo-write-test." + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot write {}: directory {}: {}", for_path, dir, std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

std::string parent_of(const std::string& path) {
  fs::path p = fs::path(path).parent_path();
  return p.empty() ? std::string(".") : p.string();
}

}  // namespace

void ensure_parent_dir(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) ensure_dir(parent.string());
}

void prepare_output_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("{} is a directory, expected a file path", path);
  ensure_parent_dir(path);
  check_writable_dir(parent_of(path), path);
}

void prepare_output_dir(const std::string& path) {
  ensure_dir(path);
  check_writable_dir(path, path);
}

}  // namespace baimo
