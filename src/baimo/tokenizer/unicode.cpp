// Unicode character classes (from utf8proc's general categories), UTF-8 decoding and NFC.
#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "baimo/tokenizer/pretokenizer.h"

namespace baimo::unicode {
namespace {

constexpr uint32_t kMaxCp = 0x10FFFF;

bool is_white_space(uint32_t cp) {  // Unicode White_Space property (PropList.txt)
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

uint8_t compute_class(uint32_t cp) {
  uint8_t c = 0;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: c = kLetter | kUpperish; break;
    case UTF8PROC_CATEGORY_LT: c = kLetter | kUpperish; break;
    case UTF8PROC_CATEGORY_LL: c = kLetter | kLowerish; break;
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: c = kLetter | kUpperish | kLowerish; break;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME: c = kMark | kUpperish | kLowerish; break;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: c = kNumber; break;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: c = kPunct; break;
    default: break;
  }
  if (is_white_space(cp)) c |= kSpace;
  if ((cp >= 0x4E00 && cp <= 0x9FA5) || (cp >= 0x0800 && cp <= 0x4E00) || (cp >= 0xAC00 && cp <= 0xD7FF))
    c |= kCjk;
  return c;
}

struct ClassTable {
  std::unique_ptr<uint8_t[]> table;
  ClassTable() : table(new uint8_t[kMaxCp + 1]) {
    for (uint32_t cp = 0; cp <= kMaxCp; ++cp) table[cp] = compute_class(cp);
  }
};

const uint8_t* class_table() {
  static const ClassTable t;  // built once (thread-safe static init), ~1.1 MB
  return t.table.get();
}

}  // namespace

uint8_t char_class(uint32_t cp) {
  if (cp > kMaxCp) return 0;
  static const uint8_t* table = class_table();
  return table[cp];
}

size_t decode_utf8(std::string_view s, size_t pos, uint32_t& cp) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + pos;
  const size_t left = s.size() - pos;
  const unsigned char b0 = p[0];
  cp = 0xFFFFFFFFu;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if (b0 < 0xC2) return 1;
  if (b0 < 0xE0) {
    if (left < 2 || (p[1] & 0xC0) != 0x80) return 1;
    cp = ((b0 & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    return 2;
  }
  if (b0 < 0xF0) {
    if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 1;
    if (b0 == 0xE0 && p[1] < 0xA0) return 1;   // overlong
    if (b0 == 0xED && p[1] >= 0xA0) return 1;  // surrogates
    cp = ((b0 & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    return 3;
  }
  if (b0 < 0xF5) {
    if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 1;
    if (b0 == 0xF0 && p[1] < 0x90) return 1;   // overlong
    if (b0 == 0xF4 && p[1] >= 0x90) return 1;  // > U+10FFFF
    cp = ((b0 & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    return 4;
  }
  return 1;
}

namespace {
void nfc_valid_segment(std::string_view seg, std::string& out) {
  bool ascii = true;
  for (unsigned char ch : seg)
    if (ch >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) {
    out.append(seg);
    return;
  }
  utf8proc_uint8_t* dst = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(seg.data()),
                                    static_cast<utf8proc_ssize_t>(seg.size()), &dst,
                                    static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) {  // cannot happen for valid UTF-8; keep the bytes rather than lose them
    out.append(seg);
    return;
  }
  out.append(reinterpret_cast<const char*>(dst), static_cast<size_t>(n));
  std::free(dst);
}
}  // namespace

std::string nfc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t seg_start = 0, pos = 0;
  while (pos < s.size()) {
    uint32_t cp;
    size_t len = decode_utf8(s, pos, cp);
    if (cp == 0xFFFFFFFFu || cp == 0) {  // invalid byte (or NUL, which utf8proc treats specially)
      nfc_valid_segment(s.substr(seg_start, pos - seg_start), out);
      out.append(s.substr(pos, len));
      seg_start = pos + len;
    }
    pos += len;
  }
  nfc_valid_segment(s.substr(seg_start), out);
  return out;
}

}  // namespace baimo::unicode
