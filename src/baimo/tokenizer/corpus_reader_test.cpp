#include "baimo/tokenizer/corpus_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <random>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace fs = std::filesystem;
using namespace baimo;

namespace {

std::string read_all(const std::vector<std::string>& paths, CorpusReadOptions o, size_t* windows = nullptr) {
  std::mutex mu;
  std::vector<std::pair<size_t, std::string>> docs;  // (address, text) to restore file order
  size_t nw = 0;
  read_corpus(
      paths, o,
      [&](int, std::string_view t) {
        std::lock_guard l(mu);
        docs.emplace_back(reinterpret_cast<size_t>(t.data()), std::string(t));
      },
      [&](uint64_t) { ++nw; });
  if (windows) *windows = nw;
  if (o.json_field.empty()) std::sort(docs.begin(), docs.end());
  std::string out;
  for (auto& d : docs) out += d.second + (o.json_field.empty() ? "" : "|");
  return out;
}
}  // namespace

TEST(CorpusReader, PlainTextPiecesCoverTheFileAndCutBetweenNonSpaces) {
  TempDir t("baimo_corpus_");
  std::string text;
  std::mt19937 rng(1);
  const char* parts[] = {"hello", " ", "\n", "\n\n", "世界", "，", "  ", "\r\n", "x"};
  while (text.size() < 300000) text += parts[rng() % 9];
  std::string p = t.file("a.txt", text);
  CorpusReadOptions o;
  o.threads = 2;
  o.window_bytes = 50000;
  o.piece_bytes = 3000;
  size_t windows = 0;
  EXPECT_EQ(read_all({p}, o, &windows), text);
  EXPECT_GE(windows, 5u);
  for (size_t at = 1; at < text.size(); at += 997) {
    size_t c = next_text_cut(text, at);
    ASSERT_GE(c, at);
    if (c < text.size()) {
      EXPECT_EQ(text[c - 1], '\n');
      EXPECT_NE(text[c - 2], ' ');
      EXPECT_NE(text[c - 2], '\n');
      EXPECT_NE(text[c - 2], '\r');
      EXPECT_NE(text[c], ' ');
      EXPECT_NE(text[c], '\n');
    }
  }
}

TEST(CorpusReader, JsonlFieldsInOrderAndErrorsNameFileAndLine) {
  TempDir t("baimo_corpus_");
  std::string good = t.file("g.jsonl", "{\"text\": \"a\\nb\", \"n\": 1}\n\n{\"text\": \"中文\"}\r\n{\"text\":\"c\"}");
  CorpusReadOptions o;
  o.json_field = "text";
  EXPECT_EQ(read_all({good}, o), "a\nb|中文|c|");
  auto expect_error = [&](const std::string& content, const std::string& needle) {
    std::string p = t.file("bad.jsonl", content);
    try {
      read_all({p}, o);
      ADD_FAILURE() << "no error for " << content;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("{\"text\":\"ok\"}\n{\"text\":\"ok\"}\n{\"text\": oops}\n", "bad.jsonl:3: invalid JSON");
  expect_error("{\"text\":\"ok\"}\n\n{\"body\":\"x\"}\n", "bad.jsonl:3: field \"text\" is missing");
  expect_error("{\"text\":5}\n", "bad.jsonl:1: field \"text\" is not a string");
  expect_error("[1,2]\n", "bad.jsonl:1: expected a JSON object");
  EXPECT_THROW(read_all({(t.dir / "missing.txt").string()}, o), Error);
  try {
    corpus_total_bytes({good, (t.dir / "missing.txt").string()});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.txt"), std::string::npos);
  }
}
