// Properties of Tokenizer on random bytes (invalid UTF-8 included), the streaming decoder,
// tokenizer.json save/load round trips, from_bpe, and clear errors for malformed files.
#include "baimo/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <random>

#include "baimo/tokenizer/test_shared.h"
#include "baimo/util/error.h"

namespace tokenizer_test {
using namespace baimo;

const Tokenizer& cl100k() {
  static Tokenizer t = Tokenizer::from_tiktoken_file(test_data::vectors_dir() + "/cl100k_base.tiktoken", PreTokenizerKind::Cl100k);
  return t;
}

// Random text: mixes ASCII words, Chinese, spaces/newlines, digits and arbitrary bytes.
std::string random_text(std::mt19937& rng, size_t n) {
  static const char* parts[] = {"hello", " world", "的", "中文", "，", "。", "  ", "\n", "\r\n", "123456", "'s", "\t",
                                "🦙", "é", "e\xCC\x81", "\xC2\x85", "\xEF\xBB\xBF", " -- ", "/", "Ünïcödé"};
  std::string s;
  while (s.size() < n) {
    switch (rng() % 3) {
      case 0: s += parts[rng() % std::size(parts)]; break;
      case 1: s.push_back(static_cast<char>(rng() % 256)); break;
      default: s.push_back(static_cast<char>(0x20 + rng() % 95)); break;
    }
  }
  return s;
}

std::string stream_decode(const Tokenizer& t, const std::vector<uint32_t>& ids) {
  StreamingDecoder d(t);
  std::string out;
  for (uint32_t id : ids) {
    std::string piece = d.push(id);
    // every emitted chunk ends on a character boundary unless it holds invalid bytes
    out += piece;
  }
  out += d.finish();
  return out;
}

// A small trained-style vocabulary: 256 bytes in GPT-2 order, a few merges, two specials.
Tokenizer small_bpe(PreTokenizerKind kind, Normalizer norm = Normalizer::None) {
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  std::vector<std::pair<uint32_t, uint32_t>> merges;
  auto add = [&](uint32_t l, uint32_t r) {
    merges.emplace_back(l, r);
    bytes.push_back(bytes[l] + bytes[r]);
    return static_cast<uint32_t>(bytes.size() - 1);
  };
  uint32_t th = add('t', 'h');
  uint32_t the = add(th, 'e');
  add(' ', the);
  uint32_t e4bd = add(0xE4, 0xBD);
  add(e4bd, 0xA0);  // 你
  std::vector<AddedToken> added = {{static_cast<uint32_t>(bytes.size()), "<|endoftext|>", true},
                                   {static_cast<uint32_t>(bytes.size() + 1), "<|im_start|>", true}};
  return Tokenizer::from_bpe(kind, bytes, merges, added, norm, false, "small");
}

TEST(Tokenizer, RandomBytesRoundTripAndStreaming) {
  std::mt19937 rng(1234);
  const Tokenizer& t = cl100k();
  for (int i = 0; i < 300; ++i) {
    std::string x = random_text(rng, rng() % 200);
    std::vector<uint32_t> ids = t.encode(x);
    ASSERT_EQ(t.decode(ids), x) << i;
    ASSERT_EQ(stream_decode(t, ids), x) << i;
  }
}

TEST(Tokenizer, EveryKindRoundTripsRandomBytes) {
  std::mt19937 rng(99);
  for (PreTokenizerKind k : {PreTokenizerKind::Gpt2, PreTokenizerKind::Cl100k, PreTokenizerKind::Qwen2,
                             PreTokenizerKind::O200k, PreTokenizerKind::Baimo, PreTokenizerKind::DeepseekCoder}) {
    Tokenizer t = small_bpe(k);
    PreTokenizer pre(k);
    for (int i = 0; i < 200; ++i) {
      std::string x = random_text(rng, rng() % 120);
      std::string joined;
      pre.split(x, [&](std::string_view p) {
        ASSERT_FALSE(p.empty());
        joined += p;
      });
      ASSERT_EQ(joined, x);
      auto ids = t.encode(x);
      ASSERT_EQ(t.decode(ids), x) << kind_name(k) << " " << i;
      ASSERT_EQ(stream_decode(t, ids), x);
    }
  }
}

TEST(Tokenizer, StreamingDecoderHoldsPartialCharacters) {
  Tokenizer t = small_bpe(PreTokenizerKind::Cl100k);
  StreamingDecoder d(t);
  // "你" = E4 BD A0 as three byte tokens
  EXPECT_EQ(d.push(0xE4), "");
  EXPECT_EQ(d.push(0xBD), "");
  EXPECT_EQ(d.push(0xA0), "你");
  EXPECT_EQ(d.push('a'), "a");
  EXPECT_EQ(d.push(0xE4), "");
  EXPECT_EQ(d.push('b'), "\xE4" "b");  // invalid sequence is emitted, not held forever
  EXPECT_EQ(d.push(0xF0), "");
  EXPECT_EQ(d.finish(), "\xF0");
  EXPECT_THROW(d.push(100000), Error);
}

TEST(Tokenizer, LongPieceUsesSameMergesAsShort) {
  // A 262+-byte unpunctuated Chinese clause is one cl100k piece; the heap merge must agree with
  // encoding the same clause in shorter pieces' worth of BPE semantics (checked via tiktoken ids
  // of a repeated character: each "你" is one token).
  const Tokenizer& t = cl100k();
  std::string s;
  for (int i = 0; i < 120; ++i) s += "你";
  auto ids = t.encode(s);
  EXPECT_EQ(t.decode(ids), s);
  auto one = t.encode("你你");
  // the long piece's ids are the 2-char encoding repeated
  ASSERT_EQ(ids.size() % one.size(), 0u);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], one[i % one.size()]);
}

TEST(Tokenizer, ParallelAndBatchEqualSerial) {
  std::mt19937 rng(7);
  std::string big;
  while (big.size() < (5u << 20)) {
    big += random_text(rng, 200);
    big += "\nNext line 你好。\n";
  }
  const Tokenizer& t = cl100k();
  auto serial = t.encode(big);
  EXPECT_EQ(t.encode_parallel(big, Specials::AsText, 2), serial);
  std::vector<std::string_view> texts = {"a", "hello world", "", "你好"};
  auto batch = t.encode_batch(texts, Specials::AsText, 2);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], t.encode(texts[i]));
}

TEST(Tokenizer, FromBpeSaveLoadRoundTrip) {
  for (PreTokenizerKind k : {PreTokenizerKind::Gpt2, PreTokenizerKind::Cl100k, PreTokenizerKind::Qwen2,
                             PreTokenizerKind::O200k, PreTokenizerKind::Baimo}) {
    Tokenizer t = small_bpe(k, k == PreTokenizerKind::Qwen2 ? Normalizer::Nfc : Normalizer::None);
    EXPECT_EQ(t.encode(" the"), (std::vector<uint32_t>{258}));
    EXPECT_EQ(t.encode("你"), (std::vector<uint32_t>{260}));
    EXPECT_EQ(t.encode("<|im_start|>the", Specials::Allow), (std::vector<uint32_t>{262, 257}));
    Tokenizer u = Tokenizer::from_tokenizer_json(t.to_tokenizer_json(), "saved.json");
    EXPECT_EQ(u.pretokenizer_kind(), k);
    EXPECT_EQ(u.normalizer(), t.normalizer());
    EXPECT_EQ(u.vocab_size(), t.vocab_size());
    std::string text = "the 你好 <|endoftext|> them 12345 e\xCC\x81";
    EXPECT_EQ(u.encode(text, Specials::Allow), t.encode(text, Specials::Allow));
    EXPECT_EQ(u.id_to_token(258), "\xC4\xA0the");  // "Ġthe"
  }
}

TEST(Tokenizer, TiktokenSavesAsEquivalentTokenizerJson) {
  const Tokenizer& t = cl100k();
  Tokenizer u = Tokenizer::from_tokenizer_json(t.to_tokenizer_json(), "cl100k.json");
  std::mt19937 rng(5);
  for (int i = 0; i < 50; ++i) {
    std::string x = random_text(rng, 150);
    ASSERT_EQ(u.encode(x), t.encode(x)) << i;
  }
}

TEST(Tokenizer, NfcNormalizes) {
  Tokenizer t = small_bpe(PreTokenizerKind::Qwen2, Normalizer::Nfc);
  EXPECT_EQ(t.decode(t.encode("e\xCC\x81")), "\xC3\xA9");
  EXPECT_EQ(unicode::nfc("a\xFF" "e\xCC\x81"), "a\xFF\xC3\xA9");
}

TEST(Tokenizer, MalformedFilesGiveErrors) {
  auto bad_json = [](const std::string& s) {
    try {
      Tokenizer::from_tokenizer_json(s, "bad/tokenizer.json");
      ADD_FAILURE() << s;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("bad/tokenizer.json"), std::string::npos) << e.what();
    }
  };
  bad_json("{");
  bad_json("[]");
  bad_json(R"({"model": {"type": "Unigram", "vocab": {}, "merges": []}})");
  bad_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}})");
  bad_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}})");
  bad_json(R"({"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}})");
  bad_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}, "pre_tokenizer": {"type": "ByteLevel"}})");
  bad_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "ByteLevel"}})");
  bad_json(R"({"normalizer": {"type": "NFKC"}, "model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}})");
  // Fields of the wrong type are errors naming the field, not a JSON library exception (found by fuzzing).
  auto field_error = [&](const std::string& s, const std::string& field) {
    try {
      Tokenizer::from_tokenizer_json(s, "bad/tokenizer.json");
      ADD_FAILURE() << s;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  field_error(R"({"model": {"type": 87, "vocab": {}, "merges": []}})", "model.type must be a string");
  field_error(R"({"model": {"vocab": {}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": 3}})",
              "pre_tokenizer.add_prefix_space must be true or false");
  field_error(R"({"model": {"vocab": {}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel", "use_regex": "yes"}})",
              "pre_tokenizer.use_regex must be true or false");
  field_error(R"({"model": {"vocab": {}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}, "normalizer": {"type": []}})", "normalizer.type must be a string");
  field_error(R"({"model": {"vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Sequence", "pretokenizers": )"
              R"([{"type": "Split", "behavior": "Isolated", "invert": 0}, {"type": "ByteLevel", "use_regex": false}]}})",
              "pre_tokenizer.pretokenizers[0].invert must be true or false");
  // valid JSON of a good tokenizer with one merge naming a missing token
  std::string good = small_bpe(PreTokenizerKind::Cl100k).to_tokenizer_json();
  bad_json(good.substr(0, good.size() / 2));
  std::string broken = good;
  broken.replace(broken.find("\"Ġ the\""), 7, "\"Ġ zz\"");
  bad_json(broken);

  auto bad_tt = [](const std::string& s) {
    try {
      Tokenizer::from_tiktoken(s, PreTokenizerKind::Cl100k, "bad.tiktoken");
      ADD_FAILURE() << s;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("bad.tiktoken"), std::string::npos) << e.what();
    }
  };
  bad_tt("");
  bad_tt("QQ== 0\n");  // only one byte: the other 255 are missing
  bad_tt("QQ== x\n");
  bad_tt("Q!== 0\n");
  bad_tt("QQ== 0\nQQ== 1\n");
  bad_tt("QQ== 0\nQg== 0\n");
  bad_tt("QQ==\n");
  bad_tt("QQ== 99999999999\n");
  EXPECT_THROW(Tokenizer::from_tiktoken_file("/nonexistent/x.tiktoken", PreTokenizerKind::Cl100k), Error);
  EXPECT_THROW(Tokenizer::from_tokenizer_json_file("/nonexistent/tokenizer.json"), Error);
  EXPECT_THROW(cl100k().decode(std::vector<uint32_t>{999999}), Error);
}

// Issue 11.10: a huge id in a small file is refused before anything is allocated for it (60M
// empty entries were 2 GB); a gap of a few thousand unused ids is still fine.
TEST(Tokenizer, HugeIdsInSmallFilesAreClearErrors) {
  auto message = [](const std::string& json) -> std::string {
    try {
      Tokenizer::from_tokenizer_json(json, "huge/tokenizer.json");
    } catch (const Error& e) {
      return e.what();
    }
    return "accepted";
  };
  const std::string pre = R"("pre_tokenizer": {"type": "ByteLevel"}, )";
  std::string m = message("{" + pre + R"("model": {"type": "BPE", "vocab": {"a": 60000000}, "merges": []}})");
  EXPECT_NE(m.find("huge/tokenizer.json: model.vocab[\"a\"] = 60000000 is too large"), std::string::npos) << m;
  m = message("{" + pre + R"("model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                 "added_tokens": [{"id": 60000000, "content": "<x>"}]})");
  EXPECT_NE(m.find("huge/tokenizer.json: added_tokens[0] id 60000000 is too large"), std::string::npos) << m;
  std::string tt;
  for (int b = 0; b < 256; ++b) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    tt += std::string{k[b >> 2], k[(b & 3) << 4], '=', '='} + " " + std::to_string(b == 255 ? 9000000 : b) + "\n";
  }
  EXPECT_THROW(Tokenizer::from_tiktoken(tt, PreTokenizerKind::Cl100k, "huge.tiktoken"), Error);
  // A tokenizer whose added token leaves a gap of 5000 unused ids still loads.
  Tokenizer with_gap = Tokenizer::from_bpe(PreTokenizerKind::Gpt2, [] {
    std::vector<std::string> bytes;
    for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
    return bytes;
  }(), {}, {{5256, "<|end|>", true}});
  EXPECT_EQ(with_gap.vocab_size(), 5257u);
  EXPECT_EQ(Tokenizer::from_tokenizer_json(with_gap.to_tokenizer_json(), "gap.json").vocab_size(), 5257u);
}

}  // namespace tokenizer_test
