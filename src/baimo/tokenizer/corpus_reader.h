// Corpus reading for tokenizer training: plain text files, or JSONL files with one string field.
// Contract:
// - Every file is checked first (exists, readable); errors name the file (and for JSONL the 1-based
//   line: invalid JSON, not an object, field missing or not a string).
// - Files are memory-mapped and walked in windows of `window_bytes`; each window is cut into pieces
//   of about `piece_bytes` at fixed positions (independent of the thread count) and the pieces are
//   handed to `threads` OpenMP threads. After each window, `window_done(bytes)` runs on the calling
//   thread (fold per-thread state there): memory stays bounded by one window's work.
// - Plain text: a piece is a run of whole lines; cuts fall after a '\n' that sits between two
//   non-white-space characters, where every supported split pattern ends a pre-token anyway, so the
//   pre-tokens equal those of the whole file (a file with no such place falls back to any '\n',
//   then to a UTF-8 character start). JSONL: each non-blank line is a document (the field's text).
// - on_document(thread, text) is called concurrently from different threads (distinct thread ids
//   0..threads-1). If it or parsing throws, the error of the earliest piece is rethrown.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace baimo {

struct CorpusReadOptions {
  std::string json_field;  // empty: plain text; otherwise JSONL, this field of each line
  int threads = 1;
  size_t window_bytes = 64u << 20;
  size_t piece_bytes = 1u << 20;
};

// Sum of the file sizes; throws baimo::Error naming the first missing or unreadable file.
uint64_t corpus_total_bytes(const std::vector<std::string>& paths);

void read_corpus(const std::vector<std::string>& paths, const CorpusReadOptions& opts,
                 const std::function<void(int thread, std::string_view text)>& on_document,
                 const std::function<void(uint64_t bytes)>& window_done);

// Plain-text cut position at or after `from` (see above); exposed for tests.
size_t next_text_cut(std::string_view text, size_t from);

}  // namespace baimo
