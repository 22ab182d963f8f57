#include "baimo/data/prepare.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "baimo/data/token_shards.h"
#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

using namespace baimo;
namespace fs = std::filesystem;

namespace prepare_test {
// Bytes + a few merges + <|endoftext|> (id 259).
Tokenizer small_tokenizer() {
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  std::vector<std::pair<uint32_t, uint32_t>> merges = {{'t', 'h'}, {256, 'e'}, {' ', 257}};
  bytes.push_back("th");
  bytes.push_back("the");
  bytes.push_back(" the");
  return Tokenizer::from_bpe(PreTokenizerKind::Cl100k, bytes, merges, {{259, "<|endoftext|>", true}});
}

std::vector<int32_t> all_tokens(const std::string& dir, const std::string& split) {
  TokenDataset ds(dir, split);
  std::vector<int32_t> out(ds.size());
  ds.read(0, out);
  return out;
}

TEST(PrepareShards, TokensAreDocumentsWithEotInOrderAndSplitIsDeterministic) {
  TempDir t("baimo_prepare_");
  Tokenizer tok = small_tokenizer();
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the doc " + std::to_string(i) + "\nthe end\n\n";
  PrepareOptions o;
  o.inputs = {t.file("a.txt", text), t.file("b.jsonl", "{\"text\": \"<|endoftext|> is text here\"}\n")};
  o.out_dir = (t.dir / "out").string();
  o.val_fraction = 0.1;
  o.seed = 7;
  o.shard_tokens = 500;  // several shards
  o.threads = 1;
  PrepareSummary s = prepare_shards(tok, 259, o);
  EXPECT_EQ(s.documents, 201u);
  EXPECT_EQ(s.train_documents + s.val_documents, 201u);
  EXPECT_GT(s.val_documents, 5u);
  EXPECT_LT(s.val_documents, 50u);
  EXPECT_GT(s.train_shards, 1u);
  EXPECT_TRUE(s.uint16);

  // Every document's tokens, each followed by eot, train and val in input order.
  auto train = all_tokens(o.out_dir, "train"), val = all_tokens(o.out_dir, "val");
  EXPECT_EQ(train.size() + val.size(), s.train_tokens + s.val_tokens);
  std::vector<uint32_t> joined;
  for (auto* split : {&train, &val})
    for (int32_t id : *split) joined.push_back(static_cast<uint32_t>(id));
  size_t eots = std::count(joined.begin(), joined.end(), 259u);
  EXPECT_EQ(eots, 201u);  // the literal "<|endoftext|>" in the JSONL text is not an eot
  std::string decoded_train;
  for (int32_t id : train) decoded_train += id == 259 ? std::string("|") : tok.decode(std::vector<uint32_t>{uint32_t(id)});
  EXPECT_TRUE(decoded_train.starts_with("the doc ")) << decoded_train.substr(0, 40);
  EXPECT_NE(decoded_train.find("<|endoftext|> is text here|"), std::string::npos);

  // Same options with more threads: byte-identical files.
  PrepareOptions o2 = o;
  o2.out_dir = (t.dir / "out2").string();
  o2.threads = 3;
  prepare_shards(tok, 259, o2);
  for (auto& e : fs::directory_iterator(o.out_dir)) {
    auto other = fs::path(o2.out_dir) / e.path().filename();
    ASSERT_TRUE(fs::exists(other)) << other;
    EXPECT_EQ(read_file(e.path().string()), read_file(other.string())) << e.path();
  }
  // Another seed: another split.
  o2.seed = 8;
  prepare_shards(tok, 259, o2);
  EXPECT_NE(all_tokens(o2.out_dir, "val"), val);

  // Re-running into a directory with more shards of an earlier run removes the stale ones.
  o2.shard_tokens = 100000;
  prepare_shards(tok, 259, o2);
  EXPECT_FALSE(fs::exists(fs::path(o2.out_dir) / "train_00001.bin"));
}

TEST(PrepareShards, SmallCorporaStillGetOneValDocumentAndBadInputWritesNothing) {
  TempDir t("baimo_prepare_");
  Tokenizer tok = small_tokenizer();
  PrepareOptions o;
  o.inputs = {t.file("a.txt", "one\n\ntwo\n\nthree\n")};
  o.out_dir = (t.dir / "out").string();
  o.val_fraction = 0.005;
  PrepareSummary s = prepare_shards(tok, 259, o);
  EXPECT_EQ(s.val_documents, 1u);
  EXPECT_EQ(s.train_documents, 2u);
  o.val_fraction = 0;
  s = prepare_shards(tok, 259, o);
  EXPECT_EQ(s.val_documents, 0u);
  EXPECT_EQ(ShardIndex::load(o.out_dir).splits.count("val"), 0u);

  PrepareOptions bad = o;
  bad.out_dir = (t.dir / "bad").string();
  bad.inputs.push_back(t.file("b.jsonl", "{\"text\": \"x\"}\n{\"body\": \"y\"}\n"));
  try {
    prepare_shards(tok, 259, bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("b.jsonl:2: field \"text\" is missing"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(bad.out_dir));
  bad.inputs = {t.file("empty.txt", "\n\n")};
  EXPECT_THROW(prepare_shards(tok, 259, bad), Error);
  bad.inputs = o.inputs;
  bad.val_fraction = 0.9;
  EXPECT_THROW(prepare_shards(tok, 259, bad), Error);
}

TEST(PrepareShards, LargeVocabularyWritesUint32) {
  TempDir t("baimo_prepare_");
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  Tokenizer big = Tokenizer::from_bpe(PreTokenizerKind::Cl100k, bytes, {}, {{70000, "<|endoftext|>", true}});
  PrepareOptions o;
  o.inputs = {t.file("a.txt", "abc\n\ndef\n")};
  o.out_dir = (t.dir / "out").string();
  o.val_fraction = 0;
  PrepareSummary s = prepare_shards(big, 70000, o);
  EXPECT_FALSE(s.uint16);
  EXPECT_EQ(all_tokens(o.out_dir, "train"), (std::vector<int32_t>{'a', 'b', 'c', 70000, 'd', 'e', 'f', 70000}));
}

}  // namespace prepare_test
