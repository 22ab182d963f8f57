// baimo tokenizer train --input FILE... --vocab-size N --out tokenizer.json [--preset P]
//   [--special-tokens T...] [--min-frequency K] [--field NAME] [--threads N]
// Trains a byte-level BPE tokenizer (tokenizer/bpe_trainer.h) with progress bars for reading and
// merging, writes it atomically as a Hugging Face tokenizer.json and prints a summary.
#include <omp.h>

#include <cstdio>

#include "baimo/cli/command.h"
#include "baimo/cli/tokenizer_command.h"
#include "baimo/tokenizer/bpe_trainer.h"
#include "baimo/tokenizer/trained_tokenizer.h"
#include "baimo/util/error.h"

namespace baimo::cli {
namespace {

void run_train(BpeTrainOptions opts, const std::string& out) {
  check_bpe_train_options(opts);
  opts.show_progress = true;
  if (opts.threads <= 0) opts.threads = omp_get_max_threads();
  BpeTrainResult r = train_bpe(opts);
  save_trained_tokenizer(r, out);
  std::fprintf(stderr,
               "trained %zu tokens (256 bytes + %zu merges + %zu special) with preset %s on %.2f MB "
               "(%llu pre-tokens, %llu distinct) in %.2f s read + %.2f s merge, %d threads\n",
               r.vocab_size(), r.bpe.merges.size(), r.special_tokens.size(), r.preset.c_str(),
               r.input_bytes / 1e6, static_cast<unsigned long long>(r.pre_tokens),
               static_cast<unsigned long long>(r.unique_words), r.read_seconds, r.merge_seconds, opts.threads);
  if (r.vocab_size() < opts.vocab_size)
    std::fprintf(stderr, "note: stopped at %zu < --vocab-size %zu: no pair left with count >= --min-frequency %llu\n",
                 r.vocab_size(), opts.vocab_size, static_cast<unsigned long long>(opts.min_frequency));
  std::printf("%s\n", out.c_str());
}

}  // namespace

BAIMO_COMMAND(11, [](CLI::App& root) {
  CLI::App* tok = tokenizer_command(root);
  auto* sub = tok->add_subcommand("train", "Train a byte-level BPE tokenizer on text or JSONL files");
  auto opts = std::make_shared<BpeTrainOptions>();
  auto out = std::make_shared<std::string>();
  sub->add_option("--input", opts->inputs, "Plain-text or JSONL files")->required()->expected(1, -1);
  sub->add_option("--vocab-size", opts->vocab_size, "Vocabulary size: 256 bytes + merges + special tokens")
      ->required();
  sub->add_option("--out", *out, "Output tokenizer.json (written atomically)")->required();
  sub->add_option("--preset", opts->preset,
                  "Pre-tokenizer: baimo (default; cl100k with punctuation kept apart from letters), "
                  "cl100k, o200k, gpt2, qwen2")
      ->capture_default_str();
  sub->add_option("--special-tokens", opts->special_tokens, "Special tokens, appended after the merges")
      ->capture_default_str()
      ->expected(0, -1);
  sub->add_option("--min-frequency", opts->min_frequency, "Stop when the best pair is seen fewer times")
      ->capture_default_str();
  sub->add_option("--field", opts->json_field, "Read JSONL and train on this string field of each line");
  sub->add_option("--threads", opts->threads, "Threads (default: all cores)");
  sub->callback([opts, out] { run_train(*opts, *out); });
});

}  // namespace baimo::cli
