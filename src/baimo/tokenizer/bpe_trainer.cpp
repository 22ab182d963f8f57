#include "baimo/tokenizer/bpe_trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <set>

#include "baimo/tokenizer/pretokenizer.h"
#include "baimo/tokenizer/word_counter.h"
#include "baimo/util/elapsed.h"
#include "baimo/util/error.h"
#include "baimo/util/progress.h"

namespace baimo {

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

BpeTrainResult train_bpe(const BpeTrainOptions& opts, const DocumentSource& source) {
  check_bpe_train_options(opts);
  BpeTrainResult r;
  r.preset = opts.preset;
  r.special_tokens = opts.special_tokens;
  const int threads = opts.threads > 0 ? opts.threads : omp_get_max_threads();
  const PreTokenizeCounter split = pre_tokenize_counter(opts.preset);

  auto t0 = std::chrono::steady_clock::now();
  WordCounter words;
  uint64_t documents = 0;
  {
    std::vector<std::unique_ptr<WordCounter>> local;
    for (int t = 0; t < threads; ++t) local.push_back(std::make_unique<WordCounter>());
    std::unique_ptr<Progress> bar;
    if (opts.show_progress && opts.progress_bytes > 0)
      bar = std::make_unique<Progress>("reading", opts.progress_bytes, "MB", 1e6);
    std::vector<std::string> window;
    size_t window_bytes = 0;
    auto count_window = [&] {
      std::exception_ptr error;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
      for (size_t k = 0; k < window.size(); ++k) {
        try {
          split(window[k], *local[omp_get_thread_num()]);
        } catch (...) {
#pragma omp critical
          if (!error) error = std::current_exception();
        }
      }
      if (error) std::rethrow_exception(error);
      for (auto& l : local) words.merge_from(*l);
      if (bar) bar->add(window_bytes);
      window.clear();
      window_bytes = 0;
    };
    source([&](std::string_view text) {
      if (text.empty()) return;
      window.emplace_back(text);
      window_bytes += text.size();
      r.input_bytes += text.size();
      ++documents;
      if (window_bytes >= std::max<size_t>(opts.window_bytes, 1)) count_window();
    });
    count_window();
    if (bar) bar->finish();
  }
  if (documents == 0) fail("tokenizer train: the inputs hold no text");
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
