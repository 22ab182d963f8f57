#include "baimo/data/token_shards.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>

#include "baimo/util/error.h"

namespace fs = std::filesystem;

namespace token_shards_test {
using namespace baimo;

fs::path fresh_dir(const char* name) {
  auto d = fs::temp_directory_path() / (std::string(name) + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}
void write_dataset(const fs::path& d, int64_t vocab, uint64_t shard_tokens) {
  ShardIndex ix;
  ix.vocab_size = vocab;
  ix.uint16 = vocab <= 65536;
  ix.eot_id = 0;
  ShardWriter w(d.string(), "train", ix, shard_tokens);
  for (int doc = 0; doc < 10; ++doc) {
    std::vector<int32_t> ids(7);
    std::iota(ids.begin(), ids.end(), 1 + doc * 7);
    for (auto& x : ids) x = x % (vocab - 1) + 1;
    w.add_document(ids);
  }
  w.finish();
  ix.save(d.string());
}

TEST(TokenShards, RoundTripAcrossShardBoundariesBothWidths) {
  for (int64_t vocab : {1000, 100000}) {
    auto d = fresh_dir("baimo_shards_");
    write_dataset(d, vocab, 16);
    TokenDataset ds(d.string(), "train");
    ASSERT_EQ(ds.size(), 80u);  // 10 docs x (7 + eot)
    std::vector<int32_t> all(80);
    ds.read(0, all);
    for (int doc = 0; doc < 10; ++doc) {
      EXPECT_EQ(all[doc * 8 + 7], 0);
      EXPECT_EQ(all[doc * 8], (1 + doc * 7) % (vocab - 1) + 1);
    }
    std::vector<int32_t> mid(20);
    ds.read(10, mid);  // spans shards 0, 1 and 2
    EXPECT_TRUE(std::equal(mid.begin(), mid.end(), all.begin() + 10));
    EXPECT_THROW(ds.read(70, mid), Error);
    fs::remove_all(d);
  }
}

TEST(TokenShards, SameInputGivesByteIdenticalFiles) {
  auto a = fresh_dir("baimo_shards_a"), b = fresh_dir("baimo_shards_b");
  write_dataset(a, 1000, 16);
  write_dataset(b, 1000, 16);
  for (auto& e : fs::directory_iterator(a))
    EXPECT_EQ(read_file(e.path().string()), read_file((b / e.path().filename()).string())) << e.path();
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(TokenShards, SamplerResumesExactlyFromItsPosition) {
  auto d = fresh_dir("baimo_shards_s");
  write_dataset(d, 1000, 16);
  TokenDataset ds(d.string(), "train");
  WindowSampler s(ds, 8, 42);
  std::vector<int32_t> b1(4 * 9), b2(4 * 9), b3(4 * 9);
  s.next_batch(4, b1);
  uint64_t pos = s.position();
  s.next_batch(4, b2);
  WindowSampler resumed(ds, 8, 42, pos);
  resumed.next_batch(4, b3);
  EXPECT_EQ(b2, b3);
  EXPECT_NE(b1, b2);
  fs::remove_all(d);
}

TEST(TokenShards, CorruptIndexAndTruncatedShardAreClearErrors) {
  auto d = fresh_dir("baimo_shards_c");
  write_dataset(d, 1000, 16);
  fs::resize_file(d / "train_00001.bin", 3);
  try {
    TokenDataset ds(d.string(), "train");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train_00001.bin"), std::string::npos) << e.what();
  }
  write_file_atomic((d / "index.json").string(), "{\"format\": \"baimo-shards-v1\", \"dtype\": \"int8\"}");
  EXPECT_THROW(ShardIndex::load(d.string()), Error);
  write_file_atomic((d / "index.json").string(), "{not json");
  EXPECT_THROW(ShardIndex::load(d.string()), Error);
  fs::remove_all(d);
}

}  // namespace token_shards_test
