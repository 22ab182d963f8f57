// A tokenizer with an NFC normalizer (the real Qwen2.5 tokenizer.json of ../shared/vectors) exports to
// GGUF as llama.cpp's converter exports Qwen2.5: with a warning, the "qwen2" pre-tokenizer, the 151,665
// tokens padded to the model's 151,936 rows, and no normalizer. Read back, it gives the exact reference
// ids on every text of vectors_qwen2_5.jsonl that is in NFC (428 of 435), and on text not in NFC (the
// other 7, and decomposed accents) it tokenizes as llama.cpp does: as the same tokenizer.json with its
// normalizer removed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "baimo/convert/gguf_model_meta.h"
#include "baimo/convert/gguf_tokenizer.h"
#include "baimo/io/gguf_reader.h"
#include "baimo/io/gguf_writer.h"
#include "baimo/tokenizer/pretokenizer.h"
#include "baimo/tokenizer/test_shared.h"

namespace gguf_nfc_tokenizer_test {
using namespace baimo;
namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(GgufNfcTokenizer, Qwen25ExportsAsLlamaCppDoesAndKeepsItsIds) {
  const std::string json_path = test_data::vectors_dir() + "/qwen2_5/tokenizer.json";
  if (!fs::exists(json_path)) GTEST_SKIP() << json_path << " not found";
  const Tokenizer& hf = test_data::qwen25_tokenizer();
  ASSERT_EQ(hf.normalizer(), Normalizer::Nfc);
  const fs::path gguf = fs::temp_directory_path() / ("baimo_qwen25_vocab_" + std::to_string(::getpid()) + ".gguf");
  {
    GgufWriter w;
    w.set_string("general.architecture", "qwen2");
    testing::internal::CaptureStderr();
    gguf_write_tokenizer(w, hf, 151936, "");
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("warning: the tokenizer normalizes text to NFC"), std::string::npos) << err;
    w.write(gguf.string());
  }
  GgufReader g(gguf.string());
  EXPECT_EQ(g.get_string("tokenizer.ggml.pre"), "qwen2");
  const Tokenizer tok = tokenizer_from_gguf(g);
  EXPECT_EQ(tok.normalizer(), Normalizer::None);
  fs::remove(gguf);

  auto j = nlohmann::json::parse(read_text(json_path));
  j["normalizer"] = nullptr;
  const Tokenizer raw = Tokenizer::from_tokenizer_json(j.dump(), "qwen2.5 without normalizer");
  // The reference texts: the exact ids of tokenizer.json where the text is in NFC.
  const std::string lines = read_text(test_data::vectors_dir() + "/vectors_qwen2_5.jsonl");
  std::istringstream in(lines);
  std::string line;
  size_t in_nfc = 0, not_nfc = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto row = nlohmann::json::parse(line);
    const std::string text = row["text"].get<std::string>();
    const auto got = tok.encode(text, Specials::Allow);
    if (unicode::nfc(text) == text) {
      EXPECT_EQ(got, row["ids"].get<std::vector<uint32_t>>()) << text;
      ++in_nfc;
    } else {
      EXPECT_EQ(got, raw.encode(text, Specials::Allow)) << text;
      ++not_nfc;
    }
  }
  EXPECT_EQ(in_nfc, 428u);
  EXPECT_EQ(not_nfc, 7u);

  // Not NFC: "e" + U+0301 (combining acute). tokenizer.json composes it to "é" first; llama.cpp (no
  // normalizer) does not: the GGUF tokenizer equals tokenizer.json without its normalizer.
  for (const std::string text : {"cafe\xcc\x81 ok", "Ame\xcc\x81lie und Zo\xc3\xab", "\xe8\xa7\x92\xe8\x89\xb2 e\xcc\x81"}) {
    EXPECT_EQ(tok.encode(text), raw.encode(text)) << text;
    EXPECT_NE(tok.encode(text), hf.encode(text)) << text;
    EXPECT_EQ(tok.decode(tok.encode(text)), text);  // the bytes as given
  }
}

}  // namespace gguf_nfc_tokenizer_test
