#include "baimo/io/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "baimo/kernels/half_float.h"
#include "baimo/util/error.h"

namespace fs = std::filesystem;

namespace safetensors_test {
using namespace baimo;

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A file with the given header text and `data_bytes` bytes of zeros after it.
std::string raw_file(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out + header + std::string(data_bytes, '\0');
}

void expect_error(const std::string& file, const std::string& needle) {
  try {
    SafetensorsView v(as_bytes(file), "m/model.safetensors");
    ADD_FAILURE() << "expected an error mentioning " << needle;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("m/model.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

std::vector<float> sample(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(0.37f * i) * (1.0f + i);
  return v;
}

TEST(HalfFloat, ExactValuesAndRounding) {
  EXPECT_EQ(f32_to_f16_bits(1.0f), 0x3c00);
  EXPECT_EQ(f16_bits_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f32_to_bf16_bits(1.0f), 0x3f80);
  EXPECT_EQ(bf16_bits_to_f32(0xc000), -2.0f);
  // 1 + 2^-8 lies exactly between two bf16 values: ties go to even (1.0).
  EXPECT_EQ(f32_to_bf16_bits(1.0f + 1.0f / 256), 0x3f80);
  EXPECT_EQ(f32_to_bf16_bits(1.0f + 3.0f / 256), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_bits_to_f32(f32_to_bf16_bits(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isinf(f16_bits_to_f32(f32_to_f16_bits(1e6f))));
}

TEST(Safetensors, RoundTripEachDtype) {
  fs::path dir = fs::temp_directory_path() / ("baimo_st_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<float> a = sample(2 * 3 * 5), b = sample(7), c = {3.5f};
  for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
    std::string p = (dir / "t.safetensors").string();
    save_safetensors(p,
                     {{"model.layers.0.mlp.up_proj.weight", {2, 3, 5}, a}, {"b", {7}, b}, {"scalar", {}, c},
                      {"empty", {0, 4}, {}}},
                     dt, {{"format", "pt"}});
    SafetensorsFile f(p);
    ASSERT_EQ(f->tensors().size(), 4u);
    EXPECT_EQ(f->metadata().at("format"), "pt");
    const SafetensorInfo& t = f->get("model.layers.0.mlp.up_proj.weight");
    EXPECT_EQ(t.dtype, dt);
    EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 3, 5}));
    std::vector<float> back = f->read_f32("model.layers.0.mlp.up_proj.weight");
    double tol = dt == DType::F32 ? 0 : dt == DType::F16 ? 1.0 / 1024 : 1.0 / 128;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_LE(std::fabs(back[i] - a[i]), tol * std::fabs(a[i])) << i;
    // Converting again gives the identical 16-bit value: the stored value is exact.
    for (size_t i = 0; i < a.size(); ++i) {
      if (dt == DType::F16) {
        EXPECT_EQ(f32_to_f16_bits(back[i]), f32_to_f16_bits(a[i]));
      } else if (dt == DType::BF16) {
        EXPECT_EQ(f32_to_bf16_bits(back[i]), f32_to_bf16_bits(a[i]));
      }
    }
    EXPECT_EQ(f->read_f32("scalar")[0], 3.5f);
    EXPECT_TRUE(f->read_f32("empty").empty());
    std::vector<float> out(7);
    f->read_f32_checked("b", {7}, out);
    EXPECT_THROW(f->read_f32_checked("b", {1, 7}, out), Error);
    EXPECT_THROW(f->get("nope"), Error);
    // The data buffer starts 8-byte aligned.
    MappedFile m(p);
    uint64_t n;
    std::memcpy(&n, m.data(), 8);
    EXPECT_EQ(n % 8, 0u);
  }
  fs::remove_all(dir);
}

TEST(Safetensors, WriterRejectsBadInput) {
  std::vector<float> a(4);
  EXPECT_THROW(encode_safetensors({{"a", {3}, a}}), Error);
  EXPECT_THROW(encode_safetensors({{"a", {4}, a}, {"a", {4}, a}}), Error);
  EXPECT_THROW(encode_safetensors({{"a", {4}, a}}, DType::Q8_0), Error);
}

TEST(Safetensors, MalformedFilesAreClearErrors) {
  std::vector<float> a = sample(6);
  std::string good = encode_safetensors({{"w", {2, 3}, a}, {"v", {1}, {a.data(), 1}}});
  EXPECT_NO_THROW(SafetensorsView(as_bytes(good), "x"));
  expect_error(good.substr(0, 5), "shorter than the 8-byte");
  expect_error(good.substr(0, good.size() - 1), "out of range");  // truncated data
  expect_error(good.substr(0, 20), "runs past the end");           // truncated header
  std::string huge = good;
  uint64_t big = 200'000'000;
  std::memcpy(huge.data(), &big, 8);
  expect_error(huge, "100 MB");
  std::string bigger = good;
  big = 50'000'000;
  std::memcpy(bigger.data(), &big, 8);
  expect_error(bigger, "runs past the end");
  expect_error(raw_file("{\"w\": {\"dtype\": \"F32\", ", 0), "not valid JSON");
  expect_error(raw_file("[1, 2]", 0), "start with");
  expect_error(raw_file(R"({"w": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}})", 4),
               "tensor \"w\": unsupported dtype \"F99\"");
  expect_error(raw_file(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", 8),
               "tensor \"w\": data_offsets span 4 bytes");
  expect_error(raw_file(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4), "out of range");
  expect_error(raw_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8), "out of range");
  expect_error(raw_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                        12),
               "overlap");
  expect_error(raw_file(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4), "shape");
  expect_error(raw_file(R"({"w": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}})", 8), "shape");
  expect_error(raw_file(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 4]}})",
                        4),
               "too large");
  expect_error(raw_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4), "data_offsets");
  expect_error(raw_file(R"({"w": {"dtype": "F32", "shape": [1]}})", 4), "data_offsets");
  expect_error(raw_file(R"({"w": {"dtype": 3, "shape": [1], "data_offsets": [0, 4]}})", 4), "dtype");
  expect_error(raw_file(R"({"w": [1]})", 4), "tensor \"w\"");
  expect_error(raw_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}})", 4), "unknown");
  expect_error(raw_file(R"({"__metadata__": {"a": 1}})", 0), "__metadata__");
}

TEST(Safetensors, IntegerTensorsParseButDoNotConvert) {
  std::string f = raw_file(R"({"ids": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}})", 16);
  f[f.size() - 16] = 7;
  f[f.size() - 1] = static_cast<char>(0xff);  // second id = 0xff00000000000000 as int64 (negative)
  SafetensorsView v(as_bytes(f), "ids.safetensors");
  EXPECT_EQ(v.get("ids").bytes.size(), 16u);
  EXPECT_THROW(v.read_f32("ids"), Error);
  std::vector<int64_t> ids = v.read_i64("ids");
  EXPECT_EQ(ids[0], 7);
  EXPECT_LT(ids[1], 0);
  std::string g = encode_safetensors({{"w", {1}, std::vector<float>{1.0f}}});
  EXPECT_THROW(SafetensorsView(as_bytes(g), "w").read_i64("w"), Error);
}

TEST(Safetensors, MissingFileIsAnError) { EXPECT_THROW(SafetensorsFile("/nonexistent/model.safetensors"), Error); }

// The fuzz seed corpus was written by an independent Python writer (numpy tobytes, json header).
TEST(Safetensors, ReadsSeedCorpusFromAnotherWriter) {
  std::string dir = std::string(BAIMO_SOURCE_DIR) + "/tests/fuzz/corpus/safetensors/";
  SafetensorsFile f32(dir + "f32.safetensors");
  EXPECT_EQ(f32->read_f32("model.embed_tokens.weight"), (std::vector<float>{-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f}));
  EXPECT_EQ(f32->metadata().at("format"), "pt");
  SafetensorsFile f16(dir + "f16.safetensors");
  EXPECT_EQ(f16->read_f32("model.norm.weight"), (std::vector<float>{1, -2, 0.5f, 65504}));
  SafetensorsFile bf16(dir + "bf16.safetensors");
  std::vector<float> b = bf16->read_f32("lm_head.weight");
  EXPECT_EQ(b[0], 1.0f);
  EXPECT_EQ(b[1], -3.0f);
  EXPECT_NEAR(b[2], 1e-3, 1e-5);
  SafetensorsFile multi(dir + "multi.safetensors");
  EXPECT_EQ(multi->tensors().size(), 4u);
  EXPECT_EQ(multi->get("b").dtype, DType::I64);
  SafetensorsFile empty(dir + "empty.safetensors");
  EXPECT_TRUE(empty->tensors().empty());
}

}  // namespace safetensors_test
