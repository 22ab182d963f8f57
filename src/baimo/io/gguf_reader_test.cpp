#include "baimo/io/gguf_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "baimo/io/gguf_writer.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace fs = std::filesystem;

namespace gguf_reader_test {
using namespace baimo;

std::string temp_path(const std::string& name) {
  static const TempDir dir{"baimo_gguf_reader_"};  // removed when the test process exits
  return (dir.dir / name).string();
}

std::string write_sample(const std::string& name) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 2);
  w.set_i32("neg", -5);
  w.set_f32("f", 1.5f);
  w.set_f64("d", -2.25);
  w.set_bool("flag", true);
  w.set_u64("big", 1ull << 40);
  w.set_i8("i8", -3);
  w.set_u16("u16", 65000);
  std::vector<std::string> toks = {"a", "", "héllo", std::string("\0x", 2)};
  w.set_string_array("tokenizer.ggml.tokens", toks);
  std::vector<int32_t> types = {1, 3, -1, 6};
  w.set_array("tokenizer.ggml.token_type", std::span<const int32_t>(types));
  std::vector<float> scores = {0.5f, -1.f};
  w.set_array("scores", std::span<const float>(scores));
  static std::vector<float> t1(4 * 3);
  for (size_t i = 0; i < t1.size(); ++i) t1[i] = float(i);
  static std::vector<uint8_t> q(2 * 34);
  for (size_t i = 0; i < q.size(); ++i) q[i] = uint8_t(i * 7);
  w.add_tensor("w1", DType::F32, {4, 3},
               std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(t1.data()), t1.size() * 4));
  w.add_tensor("q", DType::Q8_0, {2, 32}, std::span<const uint8_t>(q));
  std::string p = temp_path(name);
  w.write(p);
  return p;
}

TEST(GgufReader, RoundTripsEveryValueTypeAndTensor) {
  std::string p = write_sample("a.gguf");
  GgufReader r(p);
  EXPECT_EQ(r.version(), 3u);
  EXPECT_EQ(r.get_string("general.architecture").value(), "llama");
  EXPECT_EQ(r.get_uint("llama.block_count").value(), 2u);
  EXPECT_EQ(r.get_int("neg").value(), -5);
  EXPECT_THROW(r.get_uint("neg"), Error);
  EXPECT_FLOAT_EQ(r.get_float("f").value(), 1.5);
  EXPECT_DOUBLE_EQ(r.get_float("d").value(), -2.25);
  EXPECT_TRUE(r.get_bool("flag").value());
  EXPECT_EQ(r.get_uint("big").value(), 1ull << 40);
  EXPECT_EQ(r.get_int("i8").value(), -3);
  EXPECT_EQ(r.get_uint("u16").value(), 65000u);
  EXPECT_FALSE(r.get_string("missing").has_value());
  EXPECT_THROW(r.get_string("llama.block_count"), Error);
  auto toks = r.string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(toks.size(), 4u);
  EXPECT_EQ(toks[0], "a");
  EXPECT_EQ(toks[1], "");
  EXPECT_EQ(toks[2], "héllo");
  EXPECT_EQ(toks[3], std::string_view("\0x", 2));
  EXPECT_EQ(r.int_array("tokenizer.ggml.token_type"), (std::vector<int64_t>{1, 3, -1, 6}));
  EXPECT_EQ(r.float_array("scores"), (std::vector<double>{0.5, -1.0}));
  EXPECT_THROW(r.int_array("scores"), Error);
  ASSERT_EQ(r.tensors().size(), 2u);
  const GgufTensorInfo* t = r.find_tensor("w1");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(t->ggml_type, 0u);
  EXPECT_EQ(t->n_bytes, 48u);
  float f5;
  std::memcpy(&f5, t->data + 20, 4);
  EXPECT_EQ(f5, 5.f);
  const GgufTensorInfo* tq = r.find_tensor("q");
  ASSERT_NE(tq, nullptr);
  EXPECT_EQ(tq->ggml_type, 8u);
  EXPECT_EQ(tq->n_bytes, 68u);
  EXPECT_EQ(tq->data[10], uint8_t(70));
  EXPECT_EQ(r.data_offset() % r.alignment(), 0u);
}

TEST(GgufReader, EveryTruncationIsAnErrorNotACrash) {
  std::string p = write_sample("b.gguf");
  std::string img = read_file(p);
  // Every prefix that cuts into the header or a tensor's data must throw (only trailing padding
  // may go).
  size_t end = 0;
  {
    GgufReader r(std::string_view(img), "whole");
    for (const auto& t : r.tensors()) end = std::max<size_t>(end, r.data_offset() + t.offset + t.n_bytes);
  }
  ASSERT_GT(end, 0u);
  for (size_t n = 0; n < end; n += (n < 600 ? 1 : 7)) {
    std::string cut = img.substr(0, n);
    EXPECT_THROW(GgufReader(std::string_view(cut), "cut"), Error) << "prefix " << n;
  }
  EXPECT_NO_THROW(GgufReader(std::string_view(img), "whole"));
}

TEST(GgufReader, RejectsBadHeadersWithClearMessages) {
  std::string img = read_file(write_sample("c.gguf"));
  auto msg = [](const std::string& bytes) {
    try {
      GgufReader r(std::string_view(bytes), "x.gguf");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string bad = img;
  bad[0] = 'X';
  EXPECT_NE(msg(bad).find("bad magic"), std::string::npos);
  bad = img;
  bad[4] = 9;
  EXPECT_NE(msg(bad).find("version 9"), std::string::npos);
  bad = img;
  uint64_t huge = 1ull << 60;
  std::memcpy(&bad[16], &huge, 8);  // metadata count
  EXPECT_NE(msg(bad).find("absurd"), std::string::npos);
  bad = img;
  std::memcpy(&bad[8], &huge, 8);  // tensor count
  EXPECT_NE(msg(bad).find("absurd"), std::string::npos);
  // First key's length -> huge.
  bad = img;
  std::memcpy(&bad[24], &huge, 8);
  EXPECT_NE(msg(bad).find("truncated"), std::string::npos);
  // First value type (after key "general.architecture", 20 bytes) -> unknown.
  bad = img;
  uint32_t t = 77;
  std::memcpy(&bad[24 + 8 + 20], &t, 4);
  EXPECT_NE(msg(bad).find("unknown value type 77"), std::string::npos);
  EXPECT_NE(msg(bad).find("x.gguf"), std::string::npos);
}

TEST(GgufReader, MissingFileNamesThePath) {
  try {
    GgufReader r("/nonexistent/dir/model.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model.gguf"), std::string::npos);
  }
}

}  // namespace gguf_reader_test
