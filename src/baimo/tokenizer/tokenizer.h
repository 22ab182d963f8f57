// Tokenizer: byte-level BPE encoder/decoder with added (special) tokens.
// Contract:
// - A token is a byte string; ids 0..vocab_size()-1 (gaps allowed: an id with no token decodes to
//   nothing and id_to_token() gives ""). Normal tokens come from BPE; added tokens (HF added_tokens,
//   tiktoken special tokens) are matched literally in the text before pre-tokenization.
// - encode(text): [added-token split per `Specials`] -> normalizer (NFC or none) -> pre-tokenizer
//   (pretokenizer.h) -> byte-level BPE per piece. BPE merges the adjacent pair of lowest rank,
//   leftmost first, until none applies (tiktoken and HF BPE agree on this rule). Pair ranks come
//   from the merges list (tokenizer.json, GGUF, from_bpe) or, for tiktoken files, from the rank of
//   the concatenated token. With whole-piece lookup (tiktoken; HF "ignore_merges": true) a piece
//   that is itself a token is emitted as that token directly.
// - Any byte string encodes (invalid UTF-8 included: every single byte is a token, else
//   baimo::Error at load time; as in llama.cpp, a byte missing from the normal tokens may be an
//   added token spelled as the byte's GPT-2 character, which then stands for it when encoding), and decode(encode(x)) == x for x without added-token text when the
//   normalizer is none; with NFC, decode(encode(x)) == nfc(x).
// - Encoding is thread-safe (const; the piece cache is per thread). encode_parallel splits big inputs
//   at places where every supported pattern ends a piece anyway (a '\n' between two non-space
//   characters), so its ids equal encode()'s.
// - Loaders check everything and throw baimo::Error naming the file and the field/line:
//   tokenizer.json (model BPE, byte-level ByteLevel/Sequence[Split,ByteLevel] pre-tokenizer with a
//   pattern of pretokenizer.h, normalizer null/NFC, added_tokens, ignore_merges), tiktoken rank files
//   ("<base64 token> <rank>" lines, with the special tokens of the named encoding), and the GGUF
//   loader in convert/gguf_tokenizer.h.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "baimo/tokenizer/pretokenizer.h"

namespace baimo {

enum class Normalizer : uint8_t { None, Nfc };

struct AddedToken {
  uint32_t id = 0;
  std::string content;  // raw bytes (UTF-8)
  bool special = true;  // HF "special"; non-special added tokens are decoded like text too
};

// How added tokens in the text are handled by encode():
// - AsText: special added tokens are not recognised; "<|endoftext|>" encodes as ordinary text
//   (tiktoken encode_ordinary). Non-special added tokens (HF "special": false, GGUF user-defined)
//   are always recognised, in every mode, as Hugging Face tokenizers and llama.cpp do.
// - Allow: every added token is recognised (HF tokenizers' behaviour; tiktoken allowed_special="all").
// - Raise: baimo::Error if the text contains any special added token (tiktoken's default
//   disallowed_special).
enum class Specials : uint8_t { AsText, Allow, Raise };

class Tokenizer {
 public:
  // ---- construction -------------------------------------------------------------------------
  // HF tokenizer.json (file or text; `name` is used in error messages).
  static Tokenizer from_tokenizer_json_file(const std::string& path);
  static Tokenizer from_tokenizer_json(std::string_view json, const std::string& name);
  // tiktoken rank file; `kind` Cl100k or O200k picks the pattern and the special tokens of
  // cl100k_base / o200k_base (Gpt2 gives r50k-style "<|endoftext|>" = 50256).
  static Tokenizer from_tiktoken_file(const std::string& path, PreTokenizerKind kind);
  static Tokenizer from_tiktoken(std::string_view text, PreTokenizerKind kind, const std::string& name);
  // From a trained or converted vocabulary: token_bytes[id] are the raw bytes of normal token id
  // (every single byte must be present; an empty string leaves the id unused, a gap), merges[k] =
  // (left id, right id) has rank k and produces
  // the token whose bytes are the concatenation (must exist). Added tokens take their own ids
  // (may be beyond token_bytes.size()). whole_piece_lookup: see above.
  static Tokenizer from_bpe(PreTokenizerKind kind, std::vector<std::string> token_bytes,
                            const std::vector<std::pair<uint32_t, uint32_t>>& merges,
                            std::vector<AddedToken> added, Normalizer normalizer = Normalizer::None,
                            bool whole_piece_lookup = false, const std::string& name = "tokenizer");
  // Opening any of tokenizer.json / .tiktoken / .gguf by path: load_tokenizer() in
  // convert/gguf_tokenizer.h (convert/ may include tokenizer/, never the reverse).

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // ---- saving -------------------------------------------------------------------------------
  // Hugging Face tokenizer.json: model BPE (vocab in GPT-2 byte-to-unicode form, merges as
  // "a b" strings), pre_tokenizer Sequence[Split(pattern, Isolated), ByteLevel(use_regex=false)],
  // decoder ByteLevel, normalizer NFC or null, added_tokens. Loads back into an equal tokenizer.
  std::string to_tokenizer_json() const;
  void save_tokenizer_json(const std::string& path) const;  // atomic write

  // ---- encoding -----------------------------------------------------------------------------
  std::vector<uint32_t> encode(std::string_view text, Specials specials = Specials::AsText) const;
  // Appends to `out` (no clear): the allocation-free path for callers that reuse a buffer.
  void encode_into(std::string_view text, Specials specials, std::vector<uint32_t>& out) const;
  // tiktoken's allowed_special set: only these added tokens are recognised; if raise_on_other,
  // any other added token present in the text raises baimo::Error, else it is encoded as text.
  std::vector<uint32_t> encode(std::string_view text, const std::vector<std::string>& allowed,
                               bool raise_on_other) const;
  // Plain BPE of one pre-token (no splitting, no normalization), appended to `out`.
  void encode_piece(std::string_view piece, std::vector<uint32_t>& out) const;
  // Big inputs on `threads` OpenMP threads (0 = omp_get_max_threads()); ids equal encode()'s.
  std::vector<uint32_t> encode_parallel(std::string_view text, Specials specials = Specials::AsText,
                                        int threads = 0) const;
  std::vector<std::vector<uint32_t>> encode_batch(const std::vector<std::string_view>& texts,
                                                  Specials specials = Specials::AsText,
                                                  int threads = 0) const;

  // ---- decoding -----------------------------------------------------------------------------
  // Concatenated token bytes; ids >= vocab_size() throw baimo::Error.
  std::string decode(std::span<const uint32_t> ids) const;
  void decode_append(uint32_t id, std::string& out) const;

  // ---- vocabulary ---------------------------------------------------------------------------
  size_t vocab_size() const;                           // 1 + the largest id (normal or added)
  std::string_view token_bytes(uint32_t id) const;     // raw bytes; "" for an unused id
  std::string id_to_token(uint32_t id) const;          // tokenizer.json form (GPT-2 byte-to-unicode
                                                       // for normal tokens, content for added ones)
  std::optional<uint32_t> token_to_id(std::string_view bytes) const;  // normal or added token
  bool is_added(uint32_t id) const;
  bool is_special(uint32_t id) const;
  const std::vector<AddedToken>& added_tokens() const;
  std::optional<uint32_t> bos_id() const;
  std::optional<uint32_t> eos_id() const;
  void set_bos_id(std::optional<uint32_t> id);
  void set_eos_id(std::optional<uint32_t> id);
  // Whether the model expects bos_id() at the start of every prompt (Llama-style; encode() never
  // adds it: callers building a model input do, see infer/inference_model.h encode_prompt).
  // Read from tokenizer_config.json "add_bos_token" (wins), else a tokenizer.json post_processor
  // TemplateProcessing whose "single" starts with a special token (which also gives bos_id when
  // tokenizer_config.json does not); GGUF: tokenizer.ggml.add_bos_token, absent -> true for the
  // Llama-3 pre-tokenizers as llama.cpp does. Saved both ways (tokenizer.json post_processor,
  // GGUF key). Default false (Qwen2 / ChatML models, baimo-trained tokenizers).
  bool add_bos() const;
  void set_add_bos(bool add);
  PreTokenizerKind pretokenizer_kind() const;
  Normalizer normalizer() const;
  size_t merge_count() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend struct TokenizerBuilder;
};

// Emits only complete UTF-8 characters: bytes of a character split across tokens are held back
// until the character is complete. Invalid sequences are emitted as-is (byte for byte) as soon as
// they are known to be invalid, so the concatenation of all push() results and finish() equals
// tokenizer.decode(all ids).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tok) : tok_(&tok) {}
  std::string push(uint32_t id);
  std::string finish();  // whatever is held back (an incomplete trailing character)
  void reset() { pending_.clear(); }

 private:
  const Tokenizer* tok_;
  std::string pending_;
};

// GPT-2's byte <-> unicode mapping used for token strings in tokenizer.json / GGUF vocabularies.
namespace byte_level {
std::string bytes_to_unicode(std::string_view bytes);  // each byte -> one code point, UTF-8 encoded
// Inverse; nullopt if a character is not in the mapping.
std::optional<std::string> unicode_to_bytes(std::string_view s);
}  // namespace byte_level

}  // namespace baimo
