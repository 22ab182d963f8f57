// File I/O every module shares.
// - MappedFile: read-only mmap of a whole file (empty files are fine); throws baimo::Error naming the path.
// - write_file_atomic: write to "<path>.tmp.<pid>", fsync, rename over <path>, fsync the directory;
//   a crash at any moment leaves either the old file or the new one, never a half-written one.
// - read_file: whole file into a string. read_file_gunzip: the same, gunzipped (zlib) when the
//   path ends in ".gz" (concatenated gzip members too); a corrupt or truncated stream is an error.
// - fsync_dir: fsync a directory (makes renames/creations inside it durable); errors name the path.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace baimo {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

std::string read_file(const std::string& path);
std::string read_file_gunzip(const std::string& path);

// Streams the content through `write(FILE*)`; the callback may call fwrite any number of times.
void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& write);
void write_file_atomic(const std::string& path, std::string_view content);
void fsync_dir(const std::string& dir);

}  // namespace baimo
