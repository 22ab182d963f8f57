// read_json_file: the parsed value; errors name the path (missing file, not JSON, out-of-range number).
#include "baimo/util/json_file.h"

#include <gtest/gtest.h>

#include "baimo/util/error_of.h"
#include "baimo/util/temp_dir.h"

namespace json_file_test {
using namespace baimo;

TEST(JsonFile, ReadsAndNamesThePathOnErrors) {
  TempDir dir("json_file");
  EXPECT_EQ(read_json_file(dir.file("a.json", R"({"x": [1, 2]})"))["x"][1], 2);
  const std::string bad = dir.file("bad.json", "{\"x\": ");
  EXPECT_NE(error_of([&] { read_json_file(bad); }).find(bad + ": not valid JSON"), std::string::npos);
  const std::string huge = dir.file("huge.json", "9e999");
  EXPECT_NE(error_of([&] { read_json_file(huge); }).find(huge + ": not valid JSON"), std::string::npos);
  EXPECT_NE(error_of([&] { read_json_file(dir.dir.string() + "/none.json"); }).find("none.json"), std::string::npos);
}

}  // namespace json_file_test
