#include "baimo/util/file_io.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "baimo/util/error.h"

namespace fs = std::filesystem;
using namespace baimo;

TEST(FileIo, AtomicWriteThenMapRoundTrips) {
  fs::path dir = fs::temp_directory_path() / ("baimo_fileio_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string p = (dir / "a.bin").string();
  write_file_atomic(p, std::string_view("hello\0world", 11));
  MappedFile m(p);
  EXPECT_EQ(m.size(), 11u);
  EXPECT_EQ(m.view(), std::string_view("hello\0world", 11));
  EXPECT_EQ(read_file(p), std::string("hello\0world", 11));
  fs::remove_all(dir);
}

TEST(FileIo, FailedWriteKeepsOldFileAndLeavesNoTemp) {
  fs::path dir = fs::temp_directory_path() / ("baimo_fileio2_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string p = (dir / "a.txt").string();
  write_file_atomic(p, "old");
  EXPECT_THROW(write_file_atomic(p, [](std::FILE* f) {
                 std::fputs("partial", f);
                 fail("simulated failure");
               }),
               Error);
  EXPECT_EQ(read_file(p), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1);
  fs::remove_all(dir);
}

TEST(FileIo, MissingFileNamesThePath) {
  try {
    MappedFile m("/nonexistent/baimo/x.bin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/baimo/x.bin"), std::string::npos);
  }
}
