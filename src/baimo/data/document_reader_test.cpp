#include "baimo/data/document_reader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace document_reader_test {
using namespace baimo;

std::vector<std::string> docs_of(const std::string& path, std::vector<std::string> fields = {"text"}) {
  std::vector<std::string> out;
  read_documents(path, fields, [&](std::string_view d) { out.emplace_back(d); });
  return out;
}
std::string error_of(const std::string& path, std::vector<std::string> fields) {
  try {
    docs_of(path, fields);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(DocumentReader, PlainTextBlocksSplitAtBlankLines) {
  TempDir t("baimo_docreader_");
  auto p = t.file("a.txt", "\n\nfirst line\nsecond line\n\n  \t\nthird\r\n\r\nfourth\n  indented\n");
  EXPECT_EQ(docs_of(p), (std::vector<std::string>{"first line\nsecond line", "third", "fourth\n  indented"}));
  EXPECT_TRUE(docs_of(t.file("empty.txt", "")).empty());
  EXPECT_EQ(docs_of(t.file("nonl.md", "no newline at end")), (std::vector<std::string>{"no newline at end"}));
}

TEST(DocumentReader, JsonlFieldsPathsAndArrays) {
  TempDir t("baimo_docreader_");
  auto p = t.file("a.jsonl",
                  "{\"text\": \"plain\"}\n\n"
                  "{\"meta\": {\"body\": [\"line 1\", \"line 2\"]}}\n"
                  "{\"text\": \"\"}\n"
                  "\"a bare string\"\n"
                  "{\"list\": [{\"x\": \"first of list\"}]}\n");
  EXPECT_EQ(docs_of(p, {"text", "meta.body", "list.0.x"}),
            (std::vector<std::string>{"plain", "line 1\nline 2", "a bare string", "first of list"}));
  EXPECT_EQ(error_of(p, {"text"}), p + ":3: field \"text\" is missing");
  EXPECT_EQ(error_of(p, {"text", "other"}), p + ":3: none of the fields \"text\", \"other\" is present");
  auto bad = t.file("bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": broken\n");
  EXPECT_NE(error_of(bad, {"text"}).find(bad + ":2: invalid JSON"), std::string::npos);
  auto wrong = t.file("wrong.jsonl", "{\"text\": 5}\n");
  EXPECT_EQ(error_of(wrong, {"text"}), wrong + ":1: field \"text\" is number, expected a string or an array of strings");
  auto mixed = t.file("mixed.jsonl", "{\"text\": [\"a\", 1]}\n");
  EXPECT_EQ(error_of(mixed, {"text"}), mixed + ":1: field \"text\" element 1 is number, expected a string");
  auto arr = t.file("arr.jsonl", "[1, 2]\n");
  EXPECT_EQ(error_of(arr, {"text"}), arr + ":1: expected a JSON object (or a string), got array");
  EXPECT_THROW(docs_of(p, {"a..b"}), Error);
}

TEST(DocumentReader, JsonArrayNamesTheRecordLine) {
  TempDir t("baimo_docreader_");
  auto p = t.file("poems.json",
                  "[\n  {\"author\": \"a\", \"paragraphs\": [\"x, \\\"[y]\\\"\", \"z\"]},\n"
                  "  {\"author\": \"b\",\n   \"paragraphs\": [\"w\"]},\n"
                  "  {\"author\": \"c\", \"content\": [\"v\"]}\n]\n");
  EXPECT_EQ(docs_of(p, {"paragraphs", "content"}), (std::vector<std::string>{"x, \"[y]\"\nz", "w", "v"}));
  EXPECT_EQ(error_of(p, {"paragraphs"}), p + ":5 (record 2): field \"paragraphs\" is missing");
  auto one = t.file("one.json", "{\"text\": \"single\"}");
  EXPECT_EQ(docs_of(one), (std::vector<std::string>{"single"}));
  auto num = t.file("num.json", "42");
  EXPECT_EQ(error_of(num, {"text"}), num + ": expected a JSON array of records or one object, got number");
  auto broken = t.file("broken.json", "[{\"text\": \"a\"},\n{\"text\" \"b\"}]");
  EXPECT_NE(error_of(broken, {"text"}).find(broken + ": invalid JSON"), std::string::npos);
  EXPECT_NE(error_of(broken, {"text"}).find("line 2"), std::string::npos);
}

TEST(DocumentReader, ExpandInputsSortsRecursivelySkippingHiddenAndOtherFiles) {
  TempDir t("baimo_docreader_");
  namespace fs = std::filesystem;
  fs::create_directories(t.dir / "d" / "sub");
  fs::create_directories(t.dir / "d" / ".hidden");
  t.file("d/b.txt", "b");
  t.file("d/a.jsonl", "{}");
  t.file("d/sub/c.json", "[]");
  t.file("d/.hidden/x.txt", "x");
  t.file("d/.y.txt", "y");
  t.file("d/image.png", "p");
  auto f = t.file("single.bin", "s");
  std::string d = (t.dir / "d").string();
  EXPECT_EQ(expand_inputs({f, d}), (std::vector<std::string>{f, d + "/a.jsonl", d + "/b.txt", d + "/sub/c.json"}));
  EXPECT_THROW(expand_inputs({(t.dir / "missing").string()}), Error);
  fs::create_directories(t.dir / "empty");
  EXPECT_THROW(expand_inputs({(t.dir / "empty").string()}), Error);
  EXPECT_EQ(document_format(d + "/a.jsonl"), DocumentFormat::Jsonl);
  EXPECT_EQ(document_format(d + "/sub/c.json"), DocumentFormat::Json);
  EXPECT_EQ(document_format(f), DocumentFormat::Text);
}

}  // namespace document_reader_test
