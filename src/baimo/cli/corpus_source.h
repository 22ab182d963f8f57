// The corpus of `tokenizer train` and `demo`, read with the one corpus reader (data/document_reader.h)
// exactly as `data prepare` reads it (files or directories; .txt/.md plain text, .jsonl, .json arrays;
// several --field paths, the first present wins), except that plain text is handed to the trainer
// whole (PlainText::Whole) so paragraph breaks are counted as the text has them.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "baimo/data/document_reader.h"
#include "baimo/tokenizer/bpe_trainer.h"

namespace baimo::cli {

// files: expand_inputs() already applied.
inline DocumentSource corpus_source(std::vector<std::string> files, std::vector<std::string> fields) {
  return [files = std::move(files), fields = std::move(fields)](const DocumentSink& sink) {
    DocumentReadOptions o;
    o.fields = fields;
    o.plain_text = PlainText::Whole;
    for (const std::string& f : files) read_documents(f, o, sink);
  };
}

inline uint64_t total_file_bytes(const std::vector<std::string>& files) {
  uint64_t n = 0;
  for (const std::string& f : files) n += std::filesystem::file_size(f);
  return n;
}

}  // namespace baimo::cli
