#include "baimo/tokenizer/bpe_trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>

#include "baimo/tokenizer/corpus_reader.h"
#include "baimo/tokenizer/pretokenizer.h"
#include "baimo/tokenizer/word_counter.h"
#include "baimo/util/error.h"
#include "baimo/util/progress.h"

namespace baimo {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

PreTokenizeCounter pre_tokenize_counter(const std::string& preset) {
  std::optional<PreTokenizerKind> kind = kind_from_name(preset);
  if (!kind)
    fail("tokenizer train: unknown --preset \"{}\" (expected baimo, cl100k, o200k, gpt2 or qwen2)", preset);
  PreTokenizer pre(*kind);
  return [pre](std::string_view text, WordCounter& counts) {
    pre.split(text, [&](std::string_view piece) { counts.add(piece); });
  };
}

void check_bpe_train_options(const BpeTrainOptions& opts) {
  if (opts.inputs.empty()) fail("tokenizer train: no input files (--input FILE...)");
  std::set<std::string> seen;
  for (const std::string& s : opts.special_tokens) {
    if (s.empty()) fail("tokenizer train: empty special token");
    if (!seen.insert(s).second) fail("tokenizer train: special token \"{}\" given twice", s);
  }
  size_t floor = 256 + opts.special_tokens.size();
  if (opts.vocab_size < floor)
    fail("tokenizer train: --vocab-size {} is too small: it must be at least 256 byte tokens + {} "
         "special tokens = {}",
         opts.vocab_size, opts.special_tokens.size(), floor);
  if (opts.vocab_size > (1u << 31)) fail("tokenizer train: --vocab-size {} is too large", opts.vocab_size);
  if (opts.min_frequency < 1) fail("tokenizer train: --min-frequency must be at least 1");
  pre_tokenize_counter(opts.preset);  // throws for an unknown preset
}

BpeTrainResult train_bpe(const BpeTrainOptions& opts) {
  check_bpe_train_options(opts);
  BpeTrainResult r;
  r.preset = opts.preset;
  r.special_tokens = opts.special_tokens;
  r.input_bytes = corpus_total_bytes(opts.inputs);
  const int threads = opts.threads > 0 ? opts.threads : omp_get_max_threads();
  const PreTokenizeCounter split = pre_tokenize_counter(opts.preset);

  auto t0 = std::chrono::steady_clock::now();
  WordCounter words;
  {
    std::vector<std::unique_ptr<WordCounter>> local;
    for (int t = 0; t < threads; ++t) local.push_back(std::make_unique<WordCounter>());
    std::unique_ptr<Progress> bar;
    if (opts.show_progress) bar = std::make_unique<Progress>("reading", r.input_bytes, "MB", 1e6);
    CorpusReadOptions ro;
    ro.json_field = opts.json_field;
    ro.threads = threads;
    ro.window_bytes = opts.window_bytes;
    ro.piece_bytes = opts.piece_bytes;
    read_corpus(
        opts.inputs, ro, [&](int tid, std::string_view text) { split(text, *local[tid]); },
        [&](uint64_t bytes) {
          for (auto& l : local) words.merge_from(*l);
          if (bar) bar->add(bytes);
        });
    if (bar) bar->finish();
  }
  r.pre_tokens = words.total();
  r.unique_words = words.size();
  r.read_seconds = seconds_since(t0);

  auto t1 = std::chrono::steady_clock::now();
  std::vector<WordCount> table;
  table.reserve(words.size());
  words.for_each([&](std::string_view w, uint64_t c) { table.push_back({w, c}); });
  size_t max_merges = opts.vocab_size - 256 - opts.special_tokens.size();
  {
    std::unique_ptr<Progress> bar;
    if (opts.show_progress) bar = std::make_unique<Progress>("merging", max_merges, "merges");
    r.bpe = learn_bpe_merges(table, max_merges, opts.min_frequency, bar.get());
    if (bar) bar->finish();
  }
  r.merge_seconds = seconds_since(t1);
  return r;
}

}  // namespace baimo
