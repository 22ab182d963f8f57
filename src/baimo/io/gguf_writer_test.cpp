#include "baimo/io/gguf_writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace fs = std::filesystem;

namespace gguf_writer_test {
using namespace baimo;

std::string temp_path(const std::string& name) {
  static const TempDir dir{"baimo_gguf_writer_"};  // removed when the test process exits
  return (dir.dir / name).string();
}

// A minimal independent GGUF walker for the test: reads fields in file order with bounds checks.
struct Cursor {
  const std::string& s;
  size_t pos = 0;
  template <class T>
  T get() {
    EXPECT_LE(pos + sizeof(T), s.size());
    T v{};
    if (pos + sizeof(T) <= s.size()) std::memcpy(&v, s.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string str() {
    const uint64_t n = get<uint64_t>();
    EXPECT_LE(pos + n, s.size());
    std::string out = s.substr(pos, n);
    pos += n;
    return out;
  }
};

// Every byte of a small file, laid out by hand from the GGUF v3 specification.
TEST(GgufWriter, ExactBytesOfASmallFile) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  const float data[3] = {1.0f, -2.0f, 0.5f};
  w.add_tensor("t", DType::F32, {3}, {reinterpret_cast<const uint8_t*>(data), sizeof data});
  const std::string path = temp_path("small.gguf");
  w.write(path);

  std::string want;
  auto u32 = [&](uint32_t v) { want.append(reinterpret_cast<const char*>(&v), 4); };
  auto u64 = [&](uint64_t v) { want.append(reinterpret_cast<const char*>(&v), 8); };
  want += "GGUF";
  u32(3);   // version
  u64(1);   // tensors
  u64(1);   // metadata
  u64(20);  // key length
  want += "general.architecture";
  u32(8);   // string
  u64(5);
  want += "llama";
  u64(1);   // name length
  want += "t";
  u32(1);   // n_dims
  u64(3);   // ne[0]
  u32(0);   // GGML_TYPE_F32
  u64(0);   // offset
  ASSERT_EQ(want.size(), 4 + 4 + 8 + 8 + 8 + 20 + 4 + 8 + 5 + 8 + 1 + 4 + 8 + 4 + 8u);  // 108
  want.append(128 - want.size(), '\0');  // pad to 32-byte alignment
  want.append(reinterpret_cast<const char*>(data), sizeof data);
  want.append(32 - sizeof data, '\0');  // tensor padded to the alignment
  EXPECT_EQ(read_file(path), want);
  fs::remove(path);
}

// All value types, string arrays, a custom alignment, several tensors (quantized, 2-D reversed
// dims, a lazily filled one), walked back field by field.
TEST(GgufWriter, AllValueTypesTensorsAndAlignment) {
  GgufWriter w;
  w.set_u8("k.u8", 200);
  w.set_i8("k.i8", -5);
  w.set_u16("k.u16", 65000);
  w.set_i16("k.i16", -30000);
  w.set_u32("k.u32", 4000000000u);
  w.set_i32("k.i32", -2000000000);
  w.set_f32("k.f32", 1.5f);
  w.set_bool("k.bool", true);
  w.set_string("k.str", "通义千问 hello");
  w.set_u64("k.u64", 1ull << 60);
  w.set_i64("k.i64", -(1ll << 60));
  w.set_f64("k.f64", -0.25);
  const std::vector<int32_t> ints = {1, -2, 3};
  w.set_array("k.arr_i32", std::span<const int32_t>(ints));
  const std::vector<float> floats = {0.5f, -1.0f};
  w.set_array("k.arr_f32", std::span<const float>(floats));
  w.set_string_array("tokenizer.ggml.tokens", {"<s>", "你好", ""});
  w.set_bool_array("k.arr_bool", {true, false, true});
  w.set_u32("general.alignment", 64);
  w.set_u8("k.u8", 7);  // replaced in place, keeps its position
  EXPECT_EQ(w.alignment(), 64u);
  EXPECT_EQ(w.metadata_count(), 17u);

  std::vector<uint8_t> q8(2 * 34, 0x11);  // (2, 32) Q8_0: 2 blocks
  w.add_tensor("blk.0.attn_q.weight", DType::Q8_0, {2, 32}, q8);
  std::vector<uint8_t> f16(5 * 2, 0x22);
  w.add_tensor("token_embd.weight", DType::F16, {5}, f16);
  w.add_tensor("lazy", DType::I32, {3, 1}, [](uint8_t* dst) {
    for (int i = 0; i < 12; ++i) dst[i] = static_cast<uint8_t>(i + 1);
  });
  const std::string path = temp_path("all.gguf");
  w.write(path);

  const std::string f = read_file(path);
  Cursor c{f};
  ASSERT_EQ(f.substr(0, 4), "GGUF");
  c.pos = 4;
  EXPECT_EQ(c.get<uint32_t>(), 3u);
  EXPECT_EQ(c.get<uint64_t>(), 3u);
  EXPECT_EQ(c.get<uint64_t>(), 17u);
  std::vector<std::string> keys;
  std::map<std::string, uint32_t> types;
  for (int i = 0; i < 17; ++i) {
    const std::string key = c.str();
    keys.push_back(key);
    const uint32_t t = c.get<uint32_t>();
    types[key] = t;
    if (key == "k.u8") EXPECT_EQ(c.get<uint8_t>(), 7);
    else if (key == "k.i8") EXPECT_EQ(c.get<int8_t>(), -5);
    else if (key == "k.u16") EXPECT_EQ(c.get<uint16_t>(), 65000);
    else if (key == "k.i16") EXPECT_EQ(c.get<int16_t>(), -30000);
    else if (key == "k.u32") EXPECT_EQ(c.get<uint32_t>(), 4000000000u);
    else if (key == "k.i32") EXPECT_EQ(c.get<int32_t>(), -2000000000);
    else if (key == "k.f32") EXPECT_EQ(c.get<float>(), 1.5f);
    else if (key == "k.bool") EXPECT_EQ(c.get<uint8_t>(), 1);
    else if (key == "k.str") EXPECT_EQ(c.str(), "通义千问 hello");
    else if (key == "k.u64") EXPECT_EQ(c.get<uint64_t>(), 1ull << 60);
    else if (key == "k.i64") EXPECT_EQ(c.get<int64_t>(), -(1ll << 60));
    else if (key == "k.f64") EXPECT_EQ(c.get<double>(), -0.25);
    else if (key == "general.alignment") EXPECT_EQ(c.get<uint32_t>(), 64u);
    else if (key == "k.arr_i32") {
      EXPECT_EQ(c.get<uint32_t>(), 5u);
      ASSERT_EQ(c.get<uint64_t>(), 3u);
      EXPECT_EQ(c.get<int32_t>(), 1);
      EXPECT_EQ(c.get<int32_t>(), -2);
      EXPECT_EQ(c.get<int32_t>(), 3);
    } else if (key == "k.arr_f32") {
      EXPECT_EQ(c.get<uint32_t>(), 6u);
      ASSERT_EQ(c.get<uint64_t>(), 2u);
      EXPECT_EQ(c.get<float>(), 0.5f);
      EXPECT_EQ(c.get<float>(), -1.0f);
    } else if (key == "tokenizer.ggml.tokens") {
      EXPECT_EQ(c.get<uint32_t>(), 8u);
      ASSERT_EQ(c.get<uint64_t>(), 3u);
      EXPECT_EQ(c.str(), "<s>");
      EXPECT_EQ(c.str(), "你好");
      EXPECT_EQ(c.str(), "");
    } else if (key == "k.arr_bool") {
      EXPECT_EQ(c.get<uint32_t>(), 7u);
      ASSERT_EQ(c.get<uint64_t>(), 3u);
      EXPECT_EQ(c.get<uint8_t>(), 1);
      EXPECT_EQ(c.get<uint8_t>(), 0);
      EXPECT_EQ(c.get<uint8_t>(), 1);
    } else {
      ADD_FAILURE() << "unexpected key " << key;
      return;
    }
  }
  EXPECT_EQ(keys.front(), "k.u8");
  EXPECT_EQ(keys.back(), "general.alignment");
  EXPECT_EQ(types["k.u8"], 0u);
  EXPECT_EQ(types["k.i8"], 1u);
  EXPECT_EQ(types["k.u16"], 2u);
  EXPECT_EQ(types["k.i16"], 3u);
  EXPECT_EQ(types["k.u32"], 4u);
  EXPECT_EQ(types["k.i32"], 5u);
  EXPECT_EQ(types["k.f32"], 6u);
  EXPECT_EQ(types["k.bool"], 7u);
  EXPECT_EQ(types["k.str"], 8u);
  EXPECT_EQ(types["k.arr_i32"], 9u);
  EXPECT_EQ(types["k.u64"], 10u);
  EXPECT_EQ(types["k.i64"], 11u);
  EXPECT_EQ(types["k.f64"], 12u);

  struct Info {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    uint64_t offset;
  };
  std::vector<Info> infos;
  for (int i = 0; i < 3; ++i) {
    Info in;
    in.name = c.str();
    const uint32_t nd = c.get<uint32_t>();
    for (uint32_t d = 0; d < nd; ++d) in.ne.push_back(c.get<uint64_t>());
    in.type = c.get<uint32_t>();
    in.offset = c.get<uint64_t>();
    infos.push_back(in);
  }
  EXPECT_EQ(infos[0].name, "blk.0.attn_q.weight");
  EXPECT_EQ(infos[0].ne, (std::vector<uint64_t>{32, 2}));  // ne[0] is the row length
  EXPECT_EQ(infos[0].type, 8u);
  EXPECT_EQ(infos[0].offset, 0u);
  EXPECT_EQ(infos[1].type, 1u);
  EXPECT_EQ(infos[1].offset, 128u);  // 68 bytes rounded up to 64
  EXPECT_EQ(infos[2].ne, (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(infos[2].type, 26u);
  EXPECT_EQ(infos[2].offset, 192u);
  const size_t data_start = (c.pos + 63) / 64 * 64;
  for (size_t i = c.pos; i < data_start; ++i) EXPECT_EQ(f[i], '\0');
  EXPECT_EQ(f.size(), data_start + 192 + 64);
  EXPECT_EQ(f.substr(data_start, 68), std::string(68, '\x11'));
  EXPECT_EQ(f.substr(data_start + 68, 60), std::string(60, '\0'));
  EXPECT_EQ(f.substr(data_start + 128, 10), std::string(10, '\x22'));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(static_cast<uint8_t>(f[data_start + 192 + i]), i + 1);
  fs::remove(path);
}

TEST(GgufWriter, RejectsBadTensorsAndKeys) {
  GgufWriter w;
  std::vector<uint8_t> buf(64);
  auto expect_error = [](auto&& fn, const std::string& needle) {
    try {
      fn();
      ADD_FAILURE() << "expected an error mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error([&] { w.add_tensor("a", DType::F32, {3}, std::span<const uint8_t>(buf.data(), 8)); }, "need 12");
  expect_error([&] { w.add_tensor("q", DType::Q8_0, {2, 16}, std::span<const uint8_t>(buf.data(), 34)); }, "block size 32");
  expect_error([&] { w.add_tensor(std::string(64, 'n'), DType::F32, {1}, std::span<const uint8_t>(buf.data(), 4)); }, "more than 63");
  expect_error([&] { w.add_tensor("", DType::F32, {1}, std::span<const uint8_t>(buf.data(), 4)); }, "empty");
  expect_error([&] { w.add_tensor("z", DType::F32, {0}, std::span<const uint8_t>(buf.data(), 0)); }, "dimension 0");
  expect_error([&] { w.add_tensor("u", DType::U8, {4}, std::span<const uint8_t>(buf.data(), 4)); }, "no tensor type");
  expect_error([&] { w.add_tensor("d", DType::F32, {1, 1, 1, 1, 1}, std::span<const uint8_t>(buf.data(), 4)); }, "5 dimensions");
  w.add_tensor("ok", DType::F32, {1}, std::span<const uint8_t>(buf.data(), 4));
  expect_error([&] { w.add_tensor("ok", DType::F32, {1}, std::span<const uint8_t>(buf.data(), 4)); }, "added twice");
  expect_error([&] { w.set_u32("general.alignment", 48); }, "power of two");
  expect_error([&] { w.set_u8("", 1); }, "empty");
  EXPECT_EQ(w.tensor_count(), 1u);
}

// A failure while writing (here: the fill callback throws) leaves the previous file untouched.
TEST(GgufWriter, WriteIsAtomic) {
  const std::string path = temp_path("atomic.gguf");
  GgufWriter good;
  good.set_string("general.name", "old");
  good.write(path);
  const std::string before = read_file(path);
  GgufWriter bad;
  bad.add_tensor("x", DType::F32, {4}, [](uint8_t*) { throw Error("fill failed"); });
  EXPECT_THROW(bad.write(path), Error);
  EXPECT_EQ(read_file(path), before);
  EXPECT_THROW(good.write("/nonexistent-dir-baimo/x.gguf"), Error);
  fs::remove(path);
}

}  // namespace gguf_writer_test
