#include "baimo/data/plain_text.h"

#include <gtest/gtest.h>

#include <random>

#include "baimo/data/document_reader.h"
#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace plain_text_test {
using namespace baimo;

std::string whole_pieces(const std::string& path, size_t piece_bytes, size_t* pieces) {
  DocumentReadOptions o;
  o.plain_text = PlainText::Whole;
  o.piece_bytes = piece_bytes;
  std::string out;
  *pieces = 0;
  read_documents(path, o, [&](std::string_view d) { out += d, ++*pieces; });
  return out;
}
std::string error_of(const std::string& path) {
  try {
    read_documents(path, {"text"}, [](std::string_view) {});
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

// PlainText::Whole (tokenizer training): the file unchanged, in pieces cut between non-spaces.
TEST(PlainText, WholePiecesCoverTheFileAndCutBetweenNonSpaces) {
  TempDir t("baimo_plain_text_");
  std::string text;
  std::mt19937 rng(1);
  const char* parts[] = {"hello", " ", "\n", "\n\n", "世界", "，", "  ", "\r\n", "x"};
  while (text.size() < 300000) text += parts[rng() % 9];
  size_t pieces = 0;
  EXPECT_EQ(whole_pieces(t.file("a.txt", text), 3000, &pieces), text);
  EXPECT_GE(pieces, 50u);
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

// Issue 11.10: a binary file given as a corpus is refused, naming it; text with a few bad bytes is read.
TEST(PlainText, BinaryFilesAreRefused) {
  TempDir t("baimo_plain_text_");
  std::string elf = std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(20, '\0') + "more";
  EXPECT_NE(error_of(t.file("prog.txt", elf)).find("prog.txt: looks like a binary file (a NUL byte at offset 7)"),
            std::string::npos);
  std::string latin1;
  for (int i = 0; i < 200; ++i) latin1 += "caf\xe9 cr\xe8me br\xfbl\xe9\xe9\n";
  EXPECT_NE(error_of(t.file("latin1.txt", latin1)).find("latin1.txt: is not UTF-8 text"), std::string::npos);
  std::string mostly_fine(5000, 'a');
  mostly_fine[100] = '\xff';
  EXPECT_EQ(error_of(t.file("ok.txt", mostly_fine + "\n\n你好")), "accepted");
}

}  // namespace plain_text_test
