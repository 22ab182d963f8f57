// Names and regex spellings of the pre-tokenizer kinds (see pretokenizer.h).
#include <array>

#include "baimo/tokenizer/pretokenizer.h"

namespace baimo {
namespace {

#define BAIMO_CONTRACTIONS_ENUM "'s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D"
#define BAIMO_CONTRACTIONS_I "(?i:'s|'t|'re|'ve|'m|'ll|'d)"

constexpr std::string_view kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kCl100k =
    "(" BAIMO_CONTRACTIONS_ENUM R"()|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3 =
    BAIMO_CONTRACTIONS_I R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    BAIMO_CONTRACTIONS_I R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Enum =
    "(" BAIMO_CONTRACTIONS_ENUM R"()|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kBaimo =
    BAIMO_CONTRACTIONS_I R"(|[^\S\r\n]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kO200k =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+()" BAIMO_CONTRACTIONS_ENUM
    R"()?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*()" BAIMO_CONTRACTIONS_ENUM
    R"()?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kO200kI =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

}  // namespace

std::string_view kind_name(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::Gpt2: return "gpt2";
    case PreTokenizerKind::Cl100k: return "cl100k";
    case PreTokenizerKind::Qwen2: return "qwen2";
    case PreTokenizerKind::O200k: return "o200k";
    case PreTokenizerKind::Baimo: return "baimo";
    case PreTokenizerKind::DeepseekCoder: return "deepseek-coder";
  }
  return "?";
}

std::optional<PreTokenizerKind> kind_from_name(std::string_view name) {
  if (name == "gpt2" || name == "gpt-2") return PreTokenizerKind::Gpt2;
  if (name == "cl100k" || name == "cl100k_base" || name == "llama3" || name == "llama-bpe")
    return PreTokenizerKind::Cl100k;
  if (name == "qwen2" || name == "qwen2.5") return PreTokenizerKind::Qwen2;
  if (name == "o200k" || name == "o200k_base") return PreTokenizerKind::O200k;
  if (name == "baimo") return PreTokenizerKind::Baimo;
  if (name == "deepseek-coder") return PreTokenizerKind::DeepseekCoder;
  return std::nullopt;
}

std::string_view pattern_string(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::Gpt2: return kGpt2;
    case PreTokenizerKind::Cl100k: return kCl100k;
    case PreTokenizerKind::Qwen2: return kQwen2;
    case PreTokenizerKind::O200k: return kO200k;
    case PreTokenizerKind::Baimo: return kBaimo;
    case PreTokenizerKind::DeepseekCoder: return "";  // a sequence of regexes, not one pattern
  }
  return "";
}

std::optional<PreTokenizerKind> kind_from_pattern(std::string_view regex) {
  if (regex.empty()) return std::nullopt;
  if (regex == kGpt2) return PreTokenizerKind::Gpt2;
  if (regex == kCl100k || regex == kLlama3) return PreTokenizerKind::Cl100k;
  if (regex == kQwen2 || regex == kQwen2Enum) return PreTokenizerKind::Qwen2;
  if (regex == kO200k || regex == kO200kI) return PreTokenizerKind::O200k;
  if (regex == kBaimo) return PreTokenizerKind::Baimo;
  return std::nullopt;
}

}  // namespace baimo
