// Writer -> reader round trip: every metadata type, string arrays, tensors of every block type,
// a custom alignment. The writer and reader are independent implementations of the GGUF spec.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "baimo/io/gguf_reader.h"
#include "baimo/io/gguf_writer.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/temp_dir.h"

namespace fs = std::filesystem;

namespace gguf_roundtrip_test {
using namespace baimo;

std::string temp_file(const std::string& name) {
  static const TempDir dir{"baimo_gguf_rt_"};  // removed when the test process exits
  return (dir.dir / name).string();
}

TEST(GgufRoundTrip, MetadataAndTensorsSurviveWriterToReader) {
  for (uint32_t alignment : {32u, 64u, 4096u}) {
    GgufWriter w;
    w.set_string("general.architecture", "qwen2");
    w.set_string("general.name", "百模 test");
    if (alignment != 32) w.set_u32("general.alignment", alignment);
    w.set_u8("t.u8", 250);
    w.set_i8("t.i8", -100);
    w.set_u16("t.u16", 60000);
    w.set_i16("t.i16", -20000);
    w.set_u32("qwen2.context_length", 32768);
    w.set_i32("t.i32", -7);
    w.set_f32("qwen2.rope.freq_base", 1000000.0f);
    w.set_bool("t.bool", true);
    w.set_u64("t.u64", 1ull << 40);
    w.set_i64("t.i64", -(1ll << 40));
    w.set_f64("t.f64", 0.125);
    const std::vector<std::string> tokens = {"<|im_start|>", "你好", "Ġworld", ""};
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    const std::vector<int32_t> types = {3, 1, 1, 1};
    w.set_array("tokenizer.ggml.token_type", std::span<const int32_t>(types));
    const std::vector<float> scores = {0.0f, -1.5f, 2.25f, 0.0f};
    w.set_array("tokenizer.ggml.scores", std::span<const float>(scores));

    // Tensors: (rows, cols) = (3, 256) in every type the writer supports, from the same values.
    std::mt19937 rng(alignment);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> values(3 * 256);
    for (auto& v : values) v = nd(rng);
    const DType kinds[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K};
    std::vector<std::vector<uint8_t>> blobs;
    for (DType t : kinds) {
      std::vector<uint8_t> b(dtype_bytes(t, values.size()));
      for (int r = 0; r < 3; ++r)
        quant::quantize_row(t, &values[r * 256], b.data() + r * dtype_bytes(t, 256), 256);
      blobs.push_back(std::move(b));
    }
    for (size_t i = 0; i < blobs.size(); ++i)
      w.add_tensor("blk." + std::to_string(i) + ".ffn_up.weight", kinds[i], {3, 256}, blobs[i]);
    const std::vector<int32_t> ids = {1, 2, 3};
    w.add_tensor("ids", DType::I32, {3}, [&](uint8_t* dst) { std::memcpy(dst, ids.data(), 12); });

    const std::string path = temp_file("rt_" + std::to_string(alignment) + ".gguf");
    w.write(path);
    GgufReader r(path);
    EXPECT_EQ(r.version(), 3u);
    EXPECT_EQ(r.alignment(), alignment);
    EXPECT_EQ(r.data_offset() % alignment, 0u);
    EXPECT_EQ(r.metadata().size(), w.metadata_count());
    EXPECT_EQ(r.get_string("general.architecture"), "qwen2");
    EXPECT_EQ(r.get_string("general.name"), "百模 test");
    EXPECT_EQ(r.get_uint("t.u8"), 250u);
    EXPECT_EQ(r.get_int("t.i8"), -100);
    EXPECT_EQ(r.get_uint("t.u16"), 60000u);
    EXPECT_EQ(r.get_int("t.i16"), -20000);
    EXPECT_EQ(r.get_uint("qwen2.context_length"), 32768u);
    EXPECT_EQ(r.get_int("t.i32"), -7);
    EXPECT_EQ(r.get_float("qwen2.rope.freq_base"), 1000000.0);
    EXPECT_EQ(r.get_bool("t.bool"), true);
    EXPECT_EQ(r.get_uint("t.u64"), 1ull << 40);
    EXPECT_EQ(r.get_int("t.i64"), -(1ll << 40));
    EXPECT_EQ(r.get_float("t.f64"), 0.125);
    const auto toks = r.string_array("tokenizer.ggml.tokens");
    ASSERT_EQ(toks.size(), tokens.size());
    for (size_t i = 0; i < toks.size(); ++i) EXPECT_EQ(toks[i], tokens[i]);
    EXPECT_EQ(r.int_array("tokenizer.ggml.token_type"), (std::vector<int64_t>{3, 1, 1, 1}));
    EXPECT_EQ(r.float_array("tokenizer.ggml.scores"), (std::vector<double>{0.0, -1.5, 2.25, 0.0}));
    ASSERT_EQ(r.find("t.u8")->type, GgufValueType::U8);
    ASSERT_EQ(r.find("t.f64")->type, GgufValueType::F64);

    ASSERT_EQ(r.tensors().size(), blobs.size() + 1);
    for (size_t i = 0; i < blobs.size(); ++i) {
      const GgufTensorInfo* t = r.find_tensor("blk." + std::to_string(i) + ".ffn_up.weight");
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(t->ggml_type, GgufWriter::ggml_type_id(kinds[i]));
      EXPECT_EQ(t->shape, (std::vector<int64_t>{3, 256}));
      EXPECT_EQ(t->offset % alignment, 0u);
      // mmap is page-aligned, so the tensor bytes are aligned in memory too (SIMD loads, mmap'd use).
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % alignment, 0u);
      ASSERT_EQ(t->n_bytes, blobs[i].size());
      EXPECT_EQ(std::memcmp(t->data, blobs[i].data(), blobs[i].size()), 0) << dtype_info(kinds[i]).name;
      // The bytes decode to the values they were made from (within the format's precision).
      std::vector<float> back(256);
      quant::dequantize_row(kinds[i], t->data, back.data(), 256);
      for (int j = 0; j < 256; ++j) EXPECT_NEAR(back[j], values[j], 0.5f) << dtype_info(kinds[i]).name;
    }
    const GgufTensorInfo* idt = r.find_tensor("ids");
    ASSERT_NE(idt, nullptr);
    EXPECT_EQ(idt->shape, (std::vector<int64_t>{3}));
    EXPECT_EQ(std::memcmp(idt->data, ids.data(), 12), 0);
    fs::remove(path);
  }
}

}  // namespace gguf_roundtrip_test
