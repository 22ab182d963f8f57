// drop_mapped_pages on a safetensors file's mapping, as the model-directory loader uses it: after
// each tensor is read and dropped, the mapping holds almost none of the file (the measure, the
// mapping's Rss in /proc/self/smaps, also shows the file fully resident when nothing is dropped),
// and a dropped tensor reads back bit-identical (a read-only file mapping loses nothing).
#include "baimo/io/mapped_pages.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "baimo/io/safetensors.h"

namespace fs = std::filesystem;

namespace mapped_pages_test {
using namespace baimo;

// Resident kB of this process's mapping that contains `p` (/proc/self/smaps "Rss:"); -1 if none.
long mapping_rss_kb(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto a = reinterpret_cast<uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= a && a < hi;
      continue;
    }
    if (inside && line.rfind("Rss:", 0) == 0) return std::stol(line.substr(4));
  }
  return -1;
}

TEST(MappedPages, DroppedTensorsLeaveTheMappingAndReadBackIdentical) {
  const fs::path dir = fs::temp_directory_path() / ("baimo_mapped_pages_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "big.safetensors").string();
  std::vector<float> w(size_t{1} << 20);  // 4 MB per tensor, 16 MB in all
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(static_cast<int64_t>(i % 4099) - 2049) / 7.f;
  save_safetensors(path, {{"w0", {1024, 1024}, w}, {"w1", {1024, 1024}, w}, {"w2", {1024, 1024}, w},
                          {"w3", {1024, 1024}, w}});
  std::vector<float> out(w.size());

  const SafetensorsFile kept(path);  // read, nothing dropped: the whole file is resident in its mapping
  for (const auto& t : kept->tensors()) kept->read_f32(t, out);
  EXPECT_GE(mapping_rss_kb(kept->tensors()[0].bytes.data()), 15 * 1024);

  const SafetensorsFile dropped(path);  // read then dropped tensor by tensor, as read_model_dir_tensors does
  for (const auto& t : dropped->tensors()) {
    dropped->read_f32(t, out);
    EXPECT_EQ(std::memcmp(out.data(), w.data(), w.size() * sizeof(float)), 0) << t.name;
    drop_mapped_pages(t.bytes.data(), t.bytes.size());
  }
  // Left: the header's page, pages shared by two tensors, and the kernel's fault-around (64 kB by
  // default) re-mapping a dropped neighbour's pages while the next tensor is read.
  const long rss = mapping_rss_kb(dropped->tensors()[0].bytes.data());
  ASSERT_GE(rss, 0) << "no mapping of " << path << " in /proc/self/smaps";
  EXPECT_LE(rss, 1024) << "kB of the 16 MB file still resident after every tensor was dropped";

  for (const auto& t : dropped->tensors()) {  // read again from the page cache: the same bits
    dropped->read_f32(t, out);
    EXPECT_EQ(std::memcmp(out.data(), w.data(), w.size() * sizeof(float)), 0) << t.name;
  }
  fs::remove_all(dir);
}

}  // namespace mapped_pages_test
