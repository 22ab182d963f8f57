#include "baimo/tokenizer/corpus_reader.h"

#include <omp.h>
#include <sys/stat.h>

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {

namespace {

// Unicode White_Space code points (the `\s` of the split patterns).
bool is_white_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Decodes the code point starting at s[i] (invalid bytes read as themselves: not white space).
uint32_t code_point_at(std::string_view s, size_t i) {
  unsigned char b = s[i];
  if (b < 0x80) return b;
  int n = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
  if (n == 0 || i + n >= s.size()) return 0xFFFD;
  uint32_t c = b & (0x3F >> n);
  for (int k = 1; k <= n; ++k) {
    unsigned char t = s[i + k];
    if ((t & 0xC0) != 0x80) return 0xFFFD;
    c = (c << 6) | (t & 0x3F);
  }
  return c;
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

size_t next_line_cut(std::string_view text, size_t from) {
  if (from == 0) return 0;
  if (from >= text.size()) return text.size();
  size_t nl = text.find('\n', from - 1);
  return nl == std::string_view::npos ? text.size() : nl + 1;
}

struct Piece {
  size_t begin, end;
  uint64_t first_line;  // 1-based line number of `begin` within the file
};

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

uint64_t corpus_total_bytes(const std::vector<std::string>& paths) {
  uint64_t total = 0;
  for (const std::string& p : paths) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) fail("{}: cannot open input file: no such file or not readable", p);
    if (!S_ISREG(st.st_mode)) fail("{}: input is not a regular file", p);
    total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

void read_corpus(const std::vector<std::string>& paths, const CorpusReadOptions& opts,
                 const std::function<void(int thread, std::string_view text)>& on_document,
                 const std::function<void(uint64_t bytes)>& window_done) {
  corpus_total_bytes(paths);
  const bool jsonl = !opts.json_field.empty();
  const int threads = std::max(1, opts.threads);
  const size_t piece_bytes = std::max<size_t>(opts.piece_bytes, 1);
  const size_t window_bytes = std::max(opts.window_bytes, piece_bytes);
  auto cut = [&](std::string_view t, size_t at) { return jsonl ? next_line_cut(t, at) : next_text_cut(t, at); };

  for (const std::string& path : paths) {
    MappedFile file(path);
    std::string_view all = file.view();
    uint64_t line_at_window = 1;
    for (size_t wbeg = 0; wbeg < all.size();) {
      size_t wend = cut(all, std::min(all.size(), wbeg + window_bytes));
      std::vector<Piece> pieces;
      uint64_t line = line_at_window;
      for (size_t b = wbeg; b < wend;) {
        size_t e = std::min(wend, cut(all, std::min(wend, b + piece_bytes)));
        if (e <= b) e = wend;
        pieces.push_back({b, e, line});
        if (jsonl) line += std::count(all.begin() + b, all.begin() + e, '\n');
        b = e;
      }
      line_at_window = line;
      std::vector<std::exception_ptr> errors(pieces.size());
#pragma omp parallel num_threads(threads)
      {
        const int tid = omp_get_thread_num();
        std::string field_text;
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < pieces.size(); ++k) {
          try {
            std::string_view piece = all.substr(pieces[k].begin, pieces[k].end - pieces[k].begin);
            if (!jsonl) {
              on_document(tid, piece);
              continue;
            }
            uint64_t ln = pieces[k].first_line;
            for (size_t p = 0; p < piece.size(); ++ln) {
              size_t nl = piece.find('\n', p);
              size_t e = nl == std::string_view::npos ? piece.size() : nl;
              std::string_view rec = piece.substr(p, e - p);
              p = e + 1;
              if (rec.find_first_not_of(" \t\r") == std::string_view::npos) continue;
              nlohmann::json j;
              try {
                j = nlohmann::json::parse(rec);
              } catch (const nlohmann::json::exception& ex) {
                fail("{}:{}: invalid JSON: {}", path, ln, ex.what());
              }
              if (!j.is_object()) fail("{}:{}: expected a JSON object per line", path, ln);
              auto it = j.find(opts.json_field);
              if (it == j.end()) fail("{}:{}: field \"{}\" is missing", path, ln, opts.json_field);
              if (!it->is_string()) fail("{}:{}: field \"{}\" is not a string", path, ln, opts.json_field);
              field_text = it->get_ref<const std::string&>();
              on_document(tid, field_text);
            }
          } catch (...) {
            errors[k] = std::current_exception();
          }
        }
      }
      for (auto& e : errors)
        if (e) std::rethrow_exception(e);
      window_done(wend - wbeg);
      wbeg = wend;
    }
  }
}

}  // namespace baimo
