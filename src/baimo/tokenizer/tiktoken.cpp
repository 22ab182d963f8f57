// tiktoken rank files: one "<base64 token> <rank>" per line; rank = token id = merge priority.
#include <algorithm>
#include <charconv>

#include "baimo/tokenizer/tokenizer_impl.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {
namespace {

int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with '=' padding; nullopt if malformed.
std::optional<std::string> b64_decode(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(s.size() / 4 * 3);
  for (size_t i = 0; i < s.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      unsigned char c = s[i + k];
      if (c == '=' && i + 4 == s.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else {
        if (pad) return std::nullopt;  // data after padding
        v[k] = b64_value(c);
        if (v[k] < 0) return std::nullopt;
      }
    }
    uint32_t x = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out.push_back(char(x >> 16));
    if (pad < 2) out.push_back(char((x >> 8) & 0xFF));
    if (pad < 1) out.push_back(char(x & 0xFF));
  }
  return out;
}

std::vector<AddedToken> specials_for(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::Cl100k:
      return {{100257, "<|endoftext|>", true}, {100258, "<|fim_prefix|>", true}, {100259, "<|fim_middle|>", true},
              {100260, "<|fim_suffix|>", true}, {100276, "<|endofprompt|>", true}};
    case PreTokenizerKind::O200k: return {{199999, "<|endoftext|>", true}, {200018, "<|endofprompt|>", true}};
    case PreTokenizerKind::Gpt2: return {{50256, "<|endoftext|>", true}};
    default: return {};
  }
}

}  // namespace

Tokenizer Tokenizer::from_tiktoken(std::string_view text, PreTokenizerKind kind, const std::string& name) {
  auto m = std::make_unique<Impl>();
  m->name = name;
  m->kind = kind;
  m->whole_piece_lookup = true;
  constexpr uint64_t kMaxRank = 1u << 24;
  const uint64_t limit = id_limit(static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view ln = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line;
    if (!ln.empty() && ln.back() == '\r') ln.remove_suffix(1);
    if (ln.empty()) continue;
    size_t sp = ln.find(' ');
    if (sp == std::string_view::npos || ln.find(' ', sp + 1) != std::string_view::npos)
      fail("{}:{}: expected \"<base64 token> <rank>\"", name, line);
    auto bytes = b64_decode(ln.substr(0, sp));
    if (!bytes) fail("{}:{}: the token is not valid base64", name, line);
    std::string_view rs = ln.substr(sp + 1);
    uint64_t rank = 0;
    auto [ptr, ec] = std::from_chars(rs.data(), rs.data() + rs.size(), rank);
    if (ec != std::errc() || ptr != rs.data() + rs.size() || rs.empty())
      fail("{}:{}: rank {:?} is not a non-negative integer", name, line, rs);
    if (rank >= kMaxRank || rank >= limit) fail("{}:{}: rank {} is too large", name, line, rank);
    if (rank >= m->tokens.size()) {
      m->tokens.resize(rank + 1);
      m->flags.resize(rank + 1, kUnused);
    }
    if (m->flags[rank] != kUnused) fail("{}:{}: rank {} appears twice", name, line, rank);
    m->tokens[rank] = std::move(*bytes);
    m->flags[rank] = kNormal;
  }
  if (m->tokens.empty()) fail("{}: no ranks in the file", name);
  for (AddedToken& a : specials_for(kind))
    if (a.id >= m->tokens.size() || m->flags[a.id] == kUnused) m->added.push_back(std::move(a));
  for (const AddedToken& a : m->added)
    if (a.content == "<|endoftext|>") m->eos = a.id;
  m->finalize(true);
  return Tokenizer(std::move(m));
}

Tokenizer Tokenizer::from_tiktoken_file(const std::string& path, PreTokenizerKind kind) {
  MappedFile f(path);
  return from_tiktoken(f.view(), kind, path);
}

}  // namespace baimo
