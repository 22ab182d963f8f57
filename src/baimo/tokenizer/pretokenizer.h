// Pre-tokenizer: splits text into the pieces ("pre-tokens") that byte-level BPE encodes one by one.
// Contract:
// - Implements exactly (same pieces as Rust's fancy-regex / tiktoken / Hugging Face tokenizers) the
//   split patterns listed in PreTokenizerKind, by hand over Unicode general categories from utf8proc:
//   \p{L} letters (Lu Ll Lt Lm Lo), \p{N} numbers (Nd Nl No), \p{M} marks, \s = Unicode White_Space
//   (U+0085 is white space, U+FEFF is not), including the `\s+(?!\S)` lookahead rule.
// - Input is bytes. Valid UTF-8 is split as the pattern says. Each byte of an invalid UTF-8 sequence
//   is its own "character" of the punctuation class ([^\s\p{L}\p{N}]), so every byte string splits
//   into pieces whose concatenation is the input (nothing is lost or reordered).
// - split() never allocates for the pieces: it calls back with string_views into `text`.
// - pattern_string(kind) is the regex as written in tiktoken / tokenizer.json; kind_from_pattern()
//   recognises it back (exact string match, also the (?i:...) / enumerated-case contraction
//   spellings), so a tokenizer.json written by baimo or by Hugging Face loads with the right splitter.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace baimo {

enum class PreTokenizerKind : uint8_t {
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  Gpt2,
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  // (cl100k_base; Llama-3's tokenizer.json uses the same pattern)
  Cl100k,
  // as Cl100k but \p{N} (single digits): Qwen2 / Qwen2.5
  Qwen2,
  // o200k_base: case-aware letter runs with marks, contractions glued to words, [\r\n/]* after punctuation
  O200k,
  // baimo's training default: as Cl100k, but only non-newline white space ([^\S\r\n]) may prefix a
  // letter run, so punctuation (Chinese or ASCII) never merges into the following word.
  Baimo,
  // llama.cpp's "deepseek-coder" pre-tokenizer (GGUF tokenizer.ggml.pre = deepseek-coder)
  DeepseekCoder,
};

// "gpt2", "cl100k", "qwen2", "o200k", "baimo", "deepseek-coder"
std::string_view kind_name(PreTokenizerKind kind);
// Accepts the names above (also "cl100k_base", "o200k_base", "llama3", "qwen2.5");
// nullopt for anything else.
std::optional<PreTokenizerKind> kind_from_name(std::string_view name);
// The split regex as tokenizer.json / tiktoken write it.
std::string_view pattern_string(PreTokenizerKind kind);
std::optional<PreTokenizerKind> kind_from_pattern(std::string_view regex);

class PreTokenizer {
 public:
  explicit PreTokenizer(PreTokenizerKind kind) : kind_(kind) {}
  PreTokenizerKind kind() const { return kind_; }

  // Calls on_piece(std::string_view piece) for each piece, in order; pieces are non-empty and
  // concatenate to `text`.
  template <class F>
  void split(std::string_view text, F&& on_piece) const {
    if (kind_ == PreTokenizerKind::DeepseekCoder) {  // staged splitter (llama.cpp semantics)
      for (std::string_view p : split_staged(text)) on_piece(p);
      return;
    }
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = next_piece_end(text, pos);
      on_piece(text.substr(pos, end - pos));
      pos = end;
    }
  }
  std::vector<std::string_view> split(std::string_view text) const {
    std::vector<std::string_view> out;
    split(text, [&](std::string_view p) { out.push_back(p); });
    return out;
  }
  // End (exclusive byte offset, > pos) of the piece that starts at byte offset pos < text.size(),
  // pos being the end of the previous piece (or 0).
  size_t next_piece_end(std::string_view text, size_t pos) const;

 private:
  std::vector<std::string_view> split_staged(std::string_view text) const;
  PreTokenizerKind kind_;
};

// Unicode helpers shared with the normalizer and the tokenizer.
namespace unicode {
enum CharClass : uint8_t {
  kLetter = 1,        // \p{L}
  kNumber = 2,        // \p{N}
  kMark = 4,          // \p{M}
  kSpace = 8,         // White_Space
  kUpperish = 16,     // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]  (o200k)
  kLowerish = 32,     // [\p{Ll}\p{Lm}\p{Lo}\p{M}]        (o200k)
  kPunct = 64,        // \p{P} (deepseek-coder)
  kCjk = 128,         // [一-龥ࠀ-一가-퟿] (deepseek-coder)
};
// Class bits of a code point (0 <= cp <= 0x10FFFF); table lookup after a one-time build.
uint8_t char_class(uint32_t cp);
// Decodes one UTF-8 character at s[pos]; returns its byte length (1..4) and sets cp. An invalid or
// truncated sequence yields length 1 and cp = 0xFFFFFFFF (class: punctuation, not \p{P}).
size_t decode_utf8(std::string_view s, size_t pos, uint32_t& cp);
// NFC normalization of valid UTF-8; invalid bytes are copied through unchanged (segments between
// them are normalized). Returns the input unchanged (fast path) when it is ASCII.
std::string nfc(std::string_view s);
}  // namespace unicode

}  // namespace baimo
