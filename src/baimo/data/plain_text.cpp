#include "baimo/data/plain_text.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "baimo/util/error.h"

namespace baimo {

namespace {

// Unicode White_Space code points (the `\s` of the split patterns).
bool is_white_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// The code point starting at s[i] (an invalid sequence reads as U+FFFD: not white space).
uint32_t code_point_at(std::string_view s, size_t i) {
  utf8proc_int32_t c = 0;
  const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                                  static_cast<utf8proc_ssize_t>(std::min<size_t>(4, s.size() - i)), &c);
  return n > 0 ? static_cast<uint32_t>(c) : 0xFFFD;
}

// The code point that ends just before position `end` (end > 0).
uint32_t code_point_before(std::string_view s, size_t end) {
  size_t i = end - 1;
  int back = 0;
  while (i > 0 && back < 3 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i, ++back;
  return code_point_at(s, i);
}

bool is_char_start(std::string_view s, size_t i) {
  return i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
}

}  // namespace

size_t next_text_cut(std::string_view text, size_t from) {
  if (from == 0) return 0;
  if (from >= text.size()) return text.size();
  const size_t search_limit = std::min(text.size(), from + (256u << 10));
  for (size_t nl = text.find('\n', from - 1); nl != std::string_view::npos && nl < search_limit;
       nl = text.find('\n', nl + 1)) {
    size_t cut = nl + 1;
    if (cut >= text.size()) return text.size();
    if (nl == 0) continue;
    if (!is_white_space(code_point_before(text, nl)) && !is_white_space(code_point_at(text, cut)))
      return cut;
  }
  size_t nl = text.find('\n', from - 1);
  if (nl != std::string_view::npos && nl < search_limit) return nl + 1;
  size_t i = from;
  while (i < text.size() && !is_char_start(text, i)) ++i;
  return i;
}

void check_plain_text(const std::string& path, std::string_view bytes) {
  if (const void* nul = bytes.empty() ? nullptr : std::memchr(bytes.data(), 0, bytes.size()))
    fail("{}: looks like a binary file (a NUL byte at offset {}), not text; give text, JSON or JSONL files", path,
         static_cast<const char*>(nul) - bytes.data());
  const std::string_view head = bytes.substr(0, size_t{4} << 20);
  size_t invalid = 0;
  for (size_t i = 0; i < head.size();) {
    utf8proc_int32_t c = 0;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(head.data() + i),
                                    static_cast<utf8proc_ssize_t>(head.size() - i), &c);
    if (n > 0) {
      i += static_cast<size_t>(n);
    } else {
      // A character cut by the 4 MB window is not an error.
      if (head.size() < bytes.size() && head.size() - i < 4) break;
      ++invalid, ++i;
    }
  }
  if (invalid * 100 > head.size())
    fail("{}: is not UTF-8 text ({} of the first {} bytes are not valid UTF-8); convert it first, e.g. with iconv",
         path, invalid, head.size());
}

}  // namespace baimo
