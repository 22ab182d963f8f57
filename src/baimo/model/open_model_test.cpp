// open_model: directories, GGUF files by their magic (any name), other files; missing paths and
// *.gguf files without the magic are clear errors.
#include "baimo/model/open_model.h"

#include <gtest/gtest.h>

#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace open_model_test {
using namespace baimo;

std::string error_of(const std::string& path) {
  try {
    open_model(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(OpenModel, DecidesByContentNotName) {
  TempDir t("baimo_open_model_");
  EXPECT_TRUE(open_model(t.dir.string()).is_dir());
  EXPECT_TRUE(open_model(t.file("x.bin", std::string("GGUF\x03\0\0\0", 8))).is_gguf());
  EXPECT_TRUE(open_model(t.file("y.gguf", "GGUF")).is_gguf());
  EXPECT_EQ(open_model(t.file("tokenizer.json", "{}")).format, ModelFormat::Other);
  EXPECT_EQ(open_model(t.file("short.bin", "GG")).format, ModelFormat::Other);
  EXPECT_EQ(open_model(t.file("empty.bin", "")).format, ModelFormat::Other);
}

TEST(OpenModel, MissingPathsAndFakeGgufsAreClearErrors) {
  TempDir t("baimo_open_model_bad_");
  EXPECT_NE(error_of((t.dir / "nope").string()).find("nope: no such model directory or file"), std::string::npos);
  EXPECT_NE(error_of(t.file("fake.gguf", "not a gguf")).find("fake.gguf: bad magic"), std::string::npos);
}

}  // namespace open_model_test
