// train_bpe: byte-level BPE training, from text files to a vocabulary with merges.
// Contract:
// - Reads the inputs (plain text, or JSONL with `json_field`) through read_corpus (bounded memory:
//   one window at a time), pre-tokenizes every document with the preset's split pattern on
//   `threads` OpenMP threads into per-thread word counts that are folded into one table after
//   every window, then runs learn_bpe_merges (see bpe_merges.h for order and tie-breaking).
// - Vocabulary: ids 0..255 the bytes in GPT-2 order, 256.. the merges in order, then the special
//   tokens in the order given. vocab_size counts all three; merges stop early when no pair is
//   seen min_frequency times (the vocabulary is then smaller).
// - The result depends only on the inputs and options, not on `threads` (the corpus reader cuts
//   pieces at thread-independent places that do not change pre-tokens, and the merge order is a
//   total order on counts and ids).
// Errors (baimo::Error): missing/unreadable input, bad JSONL line (file:line), vocab_size smaller
// than 256 + special tokens, duplicate or empty special tokens, unknown preset.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/tokenizer/bpe_merges.h"

namespace baimo {

class WordCounter;

struct BpeTrainOptions {
  std::vector<std::string> inputs;
  std::string json_field;  // empty: plain text
  size_t vocab_size = 32000;
  std::string preset = "baimo";
  std::vector<std::string> special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  uint64_t min_frequency = 2;
  int threads = 0;           // 0: all cores (omp_get_max_threads)
  bool show_progress = false;  // progress bars on stderr
  size_t window_bytes = 64u << 20;  // corpus reader window and piece sizes (corpus_reader.h)
  size_t piece_bytes = 1u << 20;
};

struct BpeTrainResult {
  BpeMerges bpe;                            // byte tokens, merges, token bytes
  std::vector<std::string> special_tokens;  // id = bpe.token_bytes.size() + index
  std::string preset;
  uint64_t input_bytes = 0;
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

BpeTrainResult train_bpe(const BpeTrainOptions& opts);

}  // namespace baimo
