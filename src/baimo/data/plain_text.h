// Plain-text helpers of the corpus reader (document_reader.h).
// - next_text_cut(text, from): a position >= from where a big text can be cut into pieces without
//   changing its pre-tokens: just after a '\n' that sits between two non-white-space characters
//   (every supported split pattern ends a pre-token there); if none within 256 KB, after any '\n';
//   else at the next UTF-8 character start. 0 for from == 0, text.size() at the end.
// - check_plain_text(path, bytes): refuses what is not text, naming the file: a NUL byte ("looks
//   like a binary file"), or more than 1% of the first 4 MB in invalid UTF-8 sequences (checked
//   with utf8proc; "is not UTF-8 text").
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace baimo {

size_t next_text_cut(std::string_view text, size_t from);
void check_plain_text(const std::string& path, std::string_view bytes);

}  // namespace baimo
