// baimo tokenizer train --input FILE|DIR... --vocab-size N --out tokenizer.json [--preset P]
//   [--special-tokens T...] [--min-frequency K] [--field PATH...] [--threads N]
// Trains a byte-level BPE tokenizer (tokenizer/bpe_trainer.h) on what `data prepare` reads (the one
// corpus reader, cli/corpus_source.h) with progress bars for reading and merging, writes it
// atomically as a Hugging Face tokenizer.json and prints a summary.
#include <omp.h>

#include <cstdio>

#include "baimo/cli/command.h"
#include "baimo/cli/corpus_source.h"
#include "baimo/cli/tokenizer_command.h"
#include "baimo/tokenizer/bpe_trainer.h"
#include "baimo/tokenizer/trained_tokenizer.h"
#include "baimo/util/error.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {

struct TrainArgs {
  BpeTrainOptions opts;
  std::vector<std::string> inputs, fields = {"text"};
  std::string out;
};

void run_train(TrainArgs a) {
  BpeTrainOptions& opts = a.opts;
  const std::string& out = a.out;
  check_bpe_train_options(opts);
  const std::vector<std::string> files = expand_inputs(a.inputs);
  prepare_output_file(out);  // before the long part: an unwritable --out fails now
  opts.show_progress = true;
  opts.progress_bytes = total_file_bytes(files);
  if (opts.threads <= 0) opts.threads = omp_get_max_threads();
  BpeTrainResult r = train_bpe(opts, corpus_source(files, a.fields));
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
  auto a = std::make_shared<TrainArgs>();
  BpeTrainOptions* opts = &a->opts;
  std::string* out = &a->out;
  sub->add_option("--input", a->inputs,
                  "Files or directories, read as `data prepare` reads them: plain text (.txt, .md, ...), JSONL, "
                  "JSON arrays; directories recursively")
      ->required()
      ->expected(1, -1);
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
  sub->add_option("--field", a->fields,
                  "JSON/JSONL field path (dotted, e.g. meta.body); several: the first present in a record wins")
      ->capture_default_str()
      ->expected(1, -1);
  sub->add_option("--threads", opts->threads, "Threads (default: all cores)")->check(CLI::PositiveNumber);
  sub->callback([a] { run_train(*a); });
});

}  // namespace baimo::cli
