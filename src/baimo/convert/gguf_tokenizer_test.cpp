#include "baimo/convert/gguf_tokenizer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "baimo/convert/gguf_model_meta.h"
#include "baimo/io/gguf_writer.h"
#include "baimo/tokenizer/bpe_merges.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace fs = std::filesystem;

namespace gguf_tokenizer_test {
using namespace baimo;

std::string shared_dir() {
  const char* e = std::getenv("BAIMO_SHARED");
  return e ? std::string(e) : std::string(BAIMO_SOURCE_DIR) + "/../shared";
}

std::string temp_path(const std::string& name) {
  static const TempDir dir{"baimo_gguf_tok_"};  // removed when the test process exits
  return (dir.dir / name).string();
}

// llama.cpp's test pairs: .inp texts separated by "\n__ggml_vocab_test__\n" (one after each text),
// .out one line of space-separated ids per text.
void check_vocab_file(const std::string& stem, int* passed, int* total) {
  const std::string base = shared_dir() + "/vectors/gguf-vocab/" + stem;
  Tokenizer tok = load_tokenizer(base);
  const std::string inp = read_file(base + ".inp");
  const std::string out = read_file(base + ".out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  size_t pos = 0;
  while (true) {
    size_t e = inp.find(sep, pos);
    if (e == std::string::npos) break;
    texts.push_back(inp.substr(pos, e - pos));
    pos = e + sep.size();
  }
  std::vector<std::vector<uint32_t>> want;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ls(line);
    std::vector<uint32_t> ids;
    uint32_t id;
    while (ls >> id) ids.push_back(id);
    want.push_back(ids);
  }
  ASSERT_EQ(texts.size(), want.size()) << stem;
  ASSERT_GE(texts.size(), 40u);
  for (size_t i = 0; i < texts.size(); ++i) {
    ++*total;
    std::vector<uint32_t> got = tok.encode(texts[i], Specials::AsText);
    if (got == want[i]) {
      ++*passed;
    } else {
      ADD_FAILURE() << stem << " text " << i << " \"" << texts[i] << "\"";
    }
  }
}

TEST(GgufTokenizer, Gpt2VocabMatchesLlamaCppTestPairs) {
  int passed = 0, total = 0;
  check_vocab_file("ggml-vocab-gpt-2.gguf", &passed, &total);
  std::printf("ggml-vocab-gpt-2: %d/%d exact\n", passed, total);
  Tokenizer tok = load_tokenizer(shared_dir() + "/vectors/gguf-vocab/ggml-vocab-gpt-2.gguf");
  EXPECT_EQ(tok.vocab_size(), 50257u);
  EXPECT_EQ(tok.bos_id().value(), 50256u);
  EXPECT_EQ(tok.eos_id().value(), 50256u);
  EXPECT_EQ(tok.pretokenizer_kind(), PreTokenizerKind::Gpt2);
}

TEST(GgufTokenizer, DeepseekCoderVocabMatchesLlamaCppTestPairs) {
  int passed = 0, total = 0;
  check_vocab_file("ggml-vocab-deepseek-coder.gguf", &passed, &total);
  std::printf("ggml-vocab-deepseek-coder: %d/%d exact\n", passed, total);
  Tokenizer tok = load_tokenizer(shared_dir() + "/vectors/gguf-vocab/ggml-vocab-deepseek-coder.gguf");
  EXPECT_EQ(tok.bos_id().value(), 32013u);
  EXPECT_EQ(tok.eos_id().value(), 32014u);
  EXPECT_TRUE(tok.is_special(32013));
  EXPECT_TRUE(tok.is_added(32019));    // <|User|>, user-defined
  EXPECT_FALSE(tok.is_special(32019));
}

namespace {

// A small byte-level vocabulary in GGUF form: 256 bytes (GPT-2 order) + merges.
GgufWriter small_vocab(const std::vector<std::pair<std::string, std::string>>& merge_text) {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (uint8_t b : gpt2_byte_order()) {
    tokens.push_back(byte_level::bytes_to_unicode(std::string(1, char(b))));
    types.push_back(1);
  }
  std::vector<std::string> merges;
  for (auto& [l, r] : merge_text) {
    merges.push_back(byte_level::bytes_to_unicode(l) + " " + byte_level::bytes_to_unicode(r));
    tokens.push_back(byte_level::bytes_to_unicode(l + r));
    types.push_back(1);
  }
  tokens.push_back("<|endoftext|>");
  types.push_back(3);
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-2");
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_array("tokenizer.ggml.token_type", std::span<const int32_t>(types));
  w.set_string_array("tokenizer.ggml.merges", merges);
  w.set_u32("tokenizer.ggml.eos_token_id", uint32_t(tokens.size() - 1));
  return w;
}

std::string error_of(const GgufWriter& w, const std::string& name) {
  std::string p = temp_path(name);
  w.write(p);
  try {
    GgufReader r(p);
    tokenizer_from_gguf(r);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(GgufTokenizer, WrittenVocabEncodesWithItsMerges) {
  GgufWriter w = small_vocab({{" ", "t"}, {"h", "e"}, {" t", "he"}, {"\xe4", "\xbd"}, {"\xe4\xbd", "\xa0"}});
  std::string p = temp_path("small.gguf");
  w.write(p);
  Tokenizer tok = load_tokenizer(p);
  EXPECT_EQ(tok.vocab_size(), 256u + 5 + 1);
  EXPECT_EQ(tok.encode("你"), (std::vector<uint32_t>{260}));
  // " the" -> " t" + "he" -> " the" (id 258).
  std::vector<uint32_t> ids = tok.encode(" the");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(tok.token_bytes(ids[0]), " the");
  EXPECT_EQ(tok.decode(tok.encode("你 the<|endoftext|>")), "你 the<|endoftext|>");
  std::vector<uint32_t> sp = tok.encode("a<|endoftext|>", Specials::Allow);
  EXPECT_EQ(sp.back(), 261u);
  EXPECT_EQ(tok.eos_id().value(), 261u);
}

TEST(GgufTokenizer, MalformedVocabulariesGiveClearErrors) {
  {
    GgufWriter w = small_vocab({{"a", "b"}});
    w.set_string("tokenizer.ggml.model", "llama");
    EXPECT_NE(error_of(w, "m1.gguf").find("tokenizer.ggml.model"), std::string::npos);
  }
  {
    GgufWriter w = small_vocab({{"a", "b"}});
    w.set_string("tokenizer.ggml.pre", "no-such-pre");
    EXPECT_NE(error_of(w, "m2.gguf").find("no-such-pre"), std::string::npos);
  }
  {
    GgufWriter w = small_vocab({{"a", "b"}});
    w.set_string_array("tokenizer.ggml.merges", {"ab"});
    EXPECT_NE(error_of(w, "m3.gguf").find("merges[0]"), std::string::npos);
  }
  {
    GgufWriter w = small_vocab({{"a", "b"}});
    w.set_string_array("tokenizer.ggml.merges", {"a zz"});
    EXPECT_NE(error_of(w, "m4.gguf").find("not in the vocabulary"), std::string::npos);
  }
  {
    GgufWriter w = small_vocab({{"a", "b"}});
    std::vector<int32_t> t = {1, 1};
    w.set_array("tokenizer.ggml.token_type", std::span<const int32_t>(t));
    EXPECT_NE(error_of(w, "m5.gguf").find("token_type"), std::string::npos);
  }
  {
    GgufWriter w = small_vocab({{"a", "b"}});
    w.set_u32("tokenizer.ggml.bos_token_id", 99999);
    EXPECT_NE(error_of(w, "m6.gguf").find("bos_token_id"), std::string::npos) << error_of(w, "m6.gguf");
  }
  {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    EXPECT_NE(error_of(w, "m7.gguf").find("no tokenizer"), std::string::npos);
  }
  {
    GgufWriter w = small_vocab({{"a", "b"}});
    w.set_u32("tokenizer.ggml.merges", 3);
    EXPECT_NE(error_of(w, "m8.gguf").find("tokenizer.ggml.merges"), std::string::npos);
  }
  EXPECT_THROW(load_tokenizer("/nonexistent/x.gguf"), Error);
  EXPECT_THROW(load_tokenizer(shared_dir() + "/vectors/cl100k_base.tiktoken", "p50k"), Error);
}

// tokenizer.ggml.add_bos_token -> Tokenizer::add_bos(); absent: llama.cpp's default (true for the
// Llama-3 pre-tokenizers when there is a BOS id); written back by gguf_write_tokenizer.
TEST(GgufTokenizer, AddBosTokenKeyAndDefault) {
  auto read = [](const GgufWriter& w, const std::string& name) {
    std::string p = temp_path(name);
    w.write(p);
    return load_tokenizer(p);
  };
  const uint32_t eot = 256 + 1;  // small_vocab's "<|endoftext|>" after one merge
  {
    GgufWriter w = small_vocab({{"a", "b"}});
    w.set_u32("tokenizer.ggml.bos_token_id", eot);
    EXPECT_FALSE(read(w, "b1.gguf").add_bos());  // gpt-2, no key
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    Tokenizer t = read(w, "b2.gguf");
    EXPECT_TRUE(t.add_bos());
    EXPECT_EQ(t.bos_id(), eot);
    // Written back by baimo's GGUF writer, then read again.
    GgufWriter out;
    gguf_write_tokenizer(out, t, static_cast<int64_t>(t.vocab_size()), "");
    Tokenizer u = read(out, "b3.gguf");
    EXPECT_TRUE(u.add_bos());
    EXPECT_EQ(u.bos_id(), eot);
    t.set_add_bos(false);
    GgufWriter off;
    gguf_write_tokenizer(off, t, static_cast<int64_t>(t.vocab_size()), "");
    EXPECT_FALSE(read(off, "b4.gguf").add_bos());
  }
  {
    GgufWriter w = small_vocab({{"a", "b"}});
    w.set_string("tokenizer.ggml.pre", "llama-bpe");
    EXPECT_FALSE(read(w, "b5.gguf").add_bos());  // Llama-3 pre-tokenizer but no BOS id
    w.set_u32("tokenizer.ggml.bos_token_id", eot);
    EXPECT_TRUE(read(w, "b6.gguf").add_bos());  // llama.cpp's default for it
    w.set_bool("tokenizer.ggml.add_bos_token", false);
    EXPECT_FALSE(read(w, "b7.gguf").add_bos());  // the key wins
  }
  {
    GgufWriter w = small_vocab({{"a", "b"}});
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    EXPECT_NE(error_of(w, "b8.gguf").find("add_bos_token is true but tokenizer.ggml.bos_token_id is missing"),
              std::string::npos);
    w.set_u32("tokenizer.ggml.add_bos_token", 1);
    EXPECT_NE(error_of(w, "b9.gguf").find("expected bool"), std::string::npos) << error_of(w, "b9.gguf");
  }
}

}  // namespace gguf_tokenizer_test
