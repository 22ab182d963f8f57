// train_bpe: byte-level BPE training, from documents to a vocabulary with merges.
// Contract:
// - The documents come from `source` (the CLI reads files with the one corpus reader,
//   data/document_reader.h, which sits above this module): source(sink) calls sink(text) per
//   document. They are gathered into windows of about window_bytes (bounded memory), each window's
//   documents pre-tokenized with the preset's split pattern on `threads` OpenMP threads into
//   per-thread word counts folded into one table, then learn_bpe_merges runs (see bpe_merges.h for
//   order and tie-breaking). Errors thrown by the source (a bad file:line) pass through.
// - Vocabulary: ids 0..255 the bytes in GPT-2 order, 256.. the merges in order, then the special
//   tokens in the order given. vocab_size counts all three; merges stop early when no pair is
//   seen min_frequency times (the vocabulary is then smaller).
// - The result depends only on the documents and options, not on `threads` or window_bytes (counts
//   are sums, and the merge order is a total order on counts and ids).
// Errors (baimo::Error): no documents, vocab_size smaller than 256 + special tokens, duplicate or
// empty special tokens, unknown preset.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/tokenizer/bpe_merges.h"

namespace baimo {

class WordCounter;

using DocumentSink = std::function<void(std::string_view text)>;
using DocumentSource = std::function<void(const DocumentSink& sink)>;

struct BpeTrainOptions {
  size_t vocab_size = 32000;
  std::string preset = "baimo";
  std::vector<std::string> special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  uint64_t min_frequency = 2;
  int threads = 0;           // 0: all cores (omp_get_max_threads)
  bool show_progress = false;  // progress bars on stderr
  uint64_t progress_bytes = 0;  // the inputs' size, for the reading bar (0: no bar)
  size_t window_bytes = 64u << 20;  // documents pre-tokenized together
};

struct BpeTrainResult {
  BpeMerges bpe;                            // byte tokens, merges, token bytes
  std::vector<std::string> special_tokens;  // id = bpe.token_bytes.size() + index
  std::string preset;
  uint64_t input_bytes = 0;  // of the documents' text
  uint64_t pre_tokens = 0;    // pre-tokens counted (with multiplicity)
  uint64_t unique_words = 0;  // distinct pre-tokens
  double read_seconds = 0, merge_seconds = 0;
  size_t vocab_size() const { return bpe.token_bytes.size() + special_tokens.size(); }
};

// Splits `text` with the preset's pre-tokenizer and adds every piece to `counts`.
using PreTokenizeCounter = std::function<void(std::string_view text, WordCounter& counts)>;
PreTokenizeCounter pre_tokenize_counter(const std::string& preset);

// Validates options without reading inputs (the CLI calls it before anything slow).
void check_bpe_train_options(const BpeTrainOptions& opts);

BpeTrainResult train_bpe(const BpeTrainOptions& opts, const DocumentSource& source);

}  // namespace baimo
