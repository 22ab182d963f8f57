#include "baimo/util/staged_dir.h"

#include <fcntl.h>
#include <stdio.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/output_path.h"

namespace baimo {

namespace fs = std::filesystem;

StagedDir::StagedDir(const std::string& final_dir) : final_(final_dir) {
  if (final_.filename().empty()) final_ = final_.parent_path();  // "out/" -> "out"
  std::error_code ec;
  if (fs::exists(final_, ec) && !fs::is_directory(final_, ec)) fail("{}: exists and is not a directory", final_dir);
  ensure_parent_dir(final_.string());
  fs::path parent = final_.parent_path();
  if (parent.empty()) parent = ".";
  std::string name = ".";  // (built in steps: GCC 12 warns falsely on "." + string)
  name += final_.filename().string();
  name += ".partial";
  staging_ = parent / name;
  fs::remove_all(staging_, ec);
  if (ec) fail("cannot write {}: cannot remove the leftover {}: {}", final_.string(), staging_.string(), ec.message());
  fs::create_directory(staging_, ec);
  if (ec) fail("cannot write {}: cannot create {}: {}", final_.string(), staging_.string(), ec.message());
}

StagedDir::~StagedDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedDir::commit() {
  fsync_dir(staging_.string());
  std::error_code ec;
  fs::path parent = final_.parent_path();
  if (parent.empty()) parent = ".";
  if (fs::exists(final_, ec)) {
    // Atomic swap: `final` is the old or the new directory at every moment.
    if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, final_.c_str(), RENAME_EXCHANGE) != 0)
      fail("cannot swap {} into {}: {}", staging_.string(), final_.string(), std::strerror(errno));
    committed_ = true;
    fsync_dir(parent.string());
    fs::remove_all(staging_, ec);  // now the old content
    if (ec) fail("cannot remove the previous output (now in {}): {}", staging_.string(), ec.message());
  } else {
    if (std::rename(staging_.c_str(), final_.c_str()) != 0)
      fail("cannot rename {} to {}: {}", staging_.string(), final_.string(), std::strerror(errno));
    committed_ = true;
  }
  fsync_dir(parent.string());
}

}  // namespace baimo
