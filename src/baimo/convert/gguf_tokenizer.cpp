#include "baimo/convert/gguf_tokenizer.h"

#include <filesystem>
#include <unordered_map>

#include "baimo/convert/llama_token_type.h"
#include "baimo/model/open_model.h"
#include "baimo/util/error.h"

namespace baimo {

namespace {

struct PreChoice {
  PreTokenizerKind kind;
  bool whole_piece_lookup;  // llama.cpp sets ignore_merges for the Llama-3 pre-tokenizer
  bool add_bos = false;     // llama.cpp's default when tokenizer.ggml.add_bos_token is absent
};

// tokenizer.ggml.pre -> our splitter (llama.cpp's names; each maps to the same split pattern).
PreChoice pre_choice(std::string_view pre, const std::string& file) {
  if (pre.empty() || pre == "gpt-2" || pre == "gpt2") return {PreTokenizerKind::Gpt2, false};
  if (pre == "deepseek-coder") return {PreTokenizerKind::DeepseekCoder, false};
  if (pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3") return {PreTokenizerKind::Cl100k, true, true};
  if (pre == "dbrx" || pre == "smaug-bpe") return {PreTokenizerKind::Cl100k, false};
  if (pre == "qwen2") return {PreTokenizerKind::Qwen2, false};
  if (pre == "gpt-4o") return {PreTokenizerKind::O200k, false};
  if (pre == "baimo") return {PreTokenizerKind::Baimo, false};  // baimo's own pattern (baimo-written files)
  fail("GGUF file {}: tokenizer.ggml.pre = \"{}\" is not supported (supported: gpt-2, deepseek-coder, llama3, "
       "llama-bpe, dbrx, smaug-bpe, qwen2, gpt-4o, baimo)",
       file, pre);
}

std::optional<uint32_t> checked_id(const GgufReader& g, std::string_view key, size_t n) {
  std::optional<uint64_t> v = g.get_uint(key);
  if (!v) return std::nullopt;
  if (*v >= n) fail("GGUF file {}: {} = {} is not a token id (vocabulary has {} tokens)", g.path(), key, *v, n);
  return static_cast<uint32_t>(*v);
}

}  // namespace

Tokenizer tokenizer_from_gguf(const GgufReader& g) {
  using namespace llama_token_type;  // kNormal, kControl, ...
  const std::string& file = g.path();
  std::optional<std::string_view> model = g.get_string("tokenizer.ggml.model");
  if (!model) fail("GGUF file {}: no tokenizer (key tokenizer.ggml.model is missing)", file);
  if (*model != "gpt2")
    fail("GGUF file {}: tokenizer.ggml.model = \"{}\" is not supported (only \"gpt2\", byte-level BPE)", file, *model);
  const PreChoice pre = pre_choice(g.get_string("tokenizer.ggml.pre").value_or(""), file);

  const std::vector<std::string_view> tokens = g.string_array("tokenizer.ggml.tokens");
  const size_t n = tokens.size();
  if (n == 0) fail("GGUF file {}: tokenizer.ggml.tokens is empty", file);
  if (n > (size_t{1} << 31)) fail("GGUF file {}: tokenizer.ggml.tokens has {} entries (too many)", file, n);
  std::vector<int64_t> types;
  if (g.find("tokenizer.ggml.token_type")) {
    types = g.int_array("tokenizer.ggml.token_type");
    if (types.size() != n)
      fail("GGUF file {}: tokenizer.ggml.token_type has {} entries, tokenizer.ggml.tokens has {}", file, types.size(),
           n);
  } else {
    types.assign(n, kNormal);
  }

  std::vector<std::string> token_bytes(n);
  std::vector<AddedToken> added;
  std::unordered_map<std::string_view, uint32_t> text_to_id;  // byte-level form of normal tokens
  text_to_id.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = types[i];
    // Unused ids ("[PAD<id>]" fillers up to the embedding size, as llama.cpp's converter writes
    // them) have no token: they stay gaps that decode to nothing, as in llama.cpp.
    if (t == kUnused) continue;
    std::optional<std::string> bytes;
    if (t == kNormal || t == kByte || t == kUndefined) bytes = byte_level::unicode_to_bytes(tokens[i]);
    if (t == kControl || t == kUserDefined || t == kUnknown) {
      // Matched literally in the text (user-defined always; control and unknown only when specials
      // are allowed, as llama.cpp does), decoded as their raw text. from_bpe wants an added token's
      // slot in token_bytes to hold its content.
      if (tokens[i].empty()) fail("GGUF file {}: token {} (type {}) is empty", file, i, t);
      added.push_back({static_cast<uint32_t>(i), std::string(tokens[i]), t != kUserDefined});
      token_bytes[i] = std::string(tokens[i]);
      continue;
    }
    if (t != kNormal && t != kByte && t != kUndefined)
      fail("GGUF file {}: tokenizer.ggml.token_type[{}] = {} is not a llama.cpp token type", file, i, t);
    if (!bytes || bytes->empty())
      fail("GGUF file {}: tokenizer.ggml.tokens[{}] = \"{}\" is not a GPT-2 byte-level token string", file, i,
           tokens[i]);
    token_bytes[i] = std::move(*bytes);
    text_to_id.emplace(tokens[i], static_cast<uint32_t>(i));
  }

  std::vector<std::pair<uint32_t, uint32_t>> merges;
  if (g.find("tokenizer.ggml.merges")) {
    const std::vector<std::string_view> ms = g.string_array("tokenizer.ggml.merges");
    merges.reserve(ms.size());
    for (size_t k = 0; k < ms.size(); ++k) {
      std::string_view m = ms[k];
      // Byte-level token strings contain no ' ' (space is written as U+0120), so the one space splits.
      size_t sp = m.find(' ');
      if (sp == std::string_view::npos || sp == 0 || sp + 1 >= m.size() ||
          m.find(' ', sp + 1) != std::string_view::npos)
        fail("GGUF file {}: tokenizer.ggml.merges[{}] = \"{}\" is not \"left right\"", file, k, m);
      auto l = text_to_id.find(m.substr(0, sp));
      auto r = text_to_id.find(m.substr(sp + 1));
      if (l == text_to_id.end() || r == text_to_id.end())
        fail("GGUF file {}: tokenizer.ggml.merges[{}] = \"{}\" names a token that is not in the vocabulary", file, k,
             m);
      merges.emplace_back(l->second, r->second);
    }
  }

  Tokenizer tok = Tokenizer::from_bpe(pre.kind, std::move(token_bytes), merges, std::move(added), Normalizer::None,
                                      pre.whole_piece_lookup, file);
  tok.set_bos_id(checked_id(g, "tokenizer.ggml.bos_token_id", n));
  tok.set_eos_id(checked_id(g, "tokenizer.ggml.eos_token_id", n));
  if (std::optional<bool> add = g.get_bool("tokenizer.ggml.add_bos_token")) {
    if (*add && !tok.bos_id())
      fail("GGUF file {}: tokenizer.ggml.add_bos_token is true but tokenizer.ggml.bos_token_id is missing", file);
    tok.set_add_bos(*add);
  } else {
    tok.set_add_bos(pre.add_bos && tok.bos_id());
  }
  return tok;
}

Tokenizer load_tokenizer(const std::string& path, const std::string& tiktoken_pattern) {
  namespace fs = std::filesystem;
  std::string name = fs::path(path).filename().string();
  auto ends_with = [&](std::string_view suf) {
    return path.size() >= suf.size() && path.compare(path.size() - suf.size(), suf.size(), suf) == 0;
  };
  // A directory, a GGUF (by its magic, any name) or another file; a missing path fails below, in the
  // reader its name implies.
  const ModelPath mp = std::filesystem::exists(path) ? open_model(path) : ModelPath{path, ModelFormat::Other};
  if (mp.is_dir()) return load_tokenizer((fs::path(path) / "tokenizer.json").string(), tiktoken_pattern);
  if (mp.is_gguf()) {
    GgufReader r(path);
    return tokenizer_from_gguf(r);
  }
  if (ends_with(".json")) return Tokenizer::from_tokenizer_json_file(path);
  PreTokenizerKind kind;
  if (tiktoken_pattern.empty()) {
    kind = name.find("o200k") != std::string::npos ? PreTokenizerKind::O200k : PreTokenizerKind::Cl100k;
  } else if (tiktoken_pattern == "cl100k" || tiktoken_pattern == "cl100k_base") {
    kind = PreTokenizerKind::Cl100k;
  } else if (tiktoken_pattern == "o200k" || tiktoken_pattern == "o200k_base") {
    kind = PreTokenizerKind::O200k;
  } else if (tiktoken_pattern == "gpt2" || tiktoken_pattern == "r50k" || tiktoken_pattern == "r50k_base") {
    kind = PreTokenizerKind::Gpt2;
  } else {
    fail("tiktoken pattern \"{}\" for {} is not one of cl100k, o200k, gpt2", tiktoken_pattern, path);
  }
  return Tokenizer::from_tiktoken_file(path, kind);
}

}  // namespace baimo
