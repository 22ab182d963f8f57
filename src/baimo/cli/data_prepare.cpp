// baimo data prepare --tokenizer PATH --input FILE|DIR... --out DIR [--field text]... [--val-fraction F]
//   [--seed S] [--threads N] [--shard-tokens N]
// Tokenizes a corpus into token shards (data/prepare.h) and copies the tokenizer into DIR as
// tokenizer.json (plus tokenizer_config.json when one sits beside it), so `baimo pretrain --data DIR`
// finds it. Prints progress bars and a summary on stderr, DIR on stdout.
// DIR is built in a hidden staging directory beside it and swapped in at the end (util/staged_dir.h):
// Ctrl-C or kill -9 leaves an earlier DIR whole and a fresh DIR absent. An existing DIR that holds
// files data prepare does not write is refused rather than replaced.
#include <omp.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <vector>

#include "baimo/cli/command.h"
#include "baimo/cli/data_command.h"
#include "baimo/data/document_reader.h"
#include "baimo/data/prepare.h"
#include "baimo/convert/gguf_tokenizer.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/staged_dir.h"

namespace baimo::cli {
namespace {

namespace fs = std::filesystem;

struct PrepareArgs {
  std::string tokenizer;
  std::vector<std::string> inputs;
  PrepareOptions opts;
};

int32_t end_of_text_id(const Tokenizer& tok, const std::string& path) {
  if (auto id = tok.token_to_id("<|endoftext|>"); id && tok.is_added(*id)) return static_cast<int32_t>(*id);
  if (auto id = tok.eos_id()) return static_cast<int32_t>(*id);
  fail("{}: the tokenizer has no <|endoftext|> token and no eos token to separate documents", path);
}

void copy_tokenizer(const Tokenizer& tok, std::string path, const std::string& out_dir) {
  if (fs::is_directory(path)) path = (fs::path(path) / "tokenizer.json").string();  // a model directory
  auto dst = fs::path(out_dir) / "tokenizer.json";
  if (fs::path(path).extension() == ".json") {
    if (fs::exists(dst) && fs::equivalent(path, dst)) return;
    write_file_atomic(dst.string(), read_file(path));
    auto config = fs::path(path).parent_path() / "tokenizer_config.json";
    if (fs::exists(config)) write_file_atomic((fs::path(out_dir) / "tokenizer_config.json").string(), read_file(config));
  } else {
    tok.save_tokenizer_json(dst.string());  // tiktoken / GGUF vocabularies in tokenizer.json form
  }
}

// An existing --out is replaced whole: only when it holds nothing but an earlier output.
void check_replaceable(const std::string& out) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return;
  if (!fs::is_directory(out, ec)) fail("--out {}: exists and is not a directory", out);
  static const std::regex ours(R"((train|val)_\d{5}\.bin|index\.json|tokenizer(_config)?\.json|.*\.tmp\.\d+)");
  for (const auto& e : fs::directory_iterator(out, ec))
    if (!std::regex_match(e.path().filename().string(), ours))
      fail("--out {}: holds {}, which `baimo data prepare` does not write; refusing to replace the directory "
           "(choose a new or empty --out)", out, e.path().filename().string());
}

std::atomic<bool>& interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
}

void run_prepare(PrepareArgs a) {
  Tokenizer tok = load_tokenizer(a.tokenizer);
  int32_t eot = end_of_text_id(tok, a.tokenizer);
  const std::string out = a.opts.out_dir;
  check_replaceable(out);
  a.opts.inputs = expand_inputs(a.inputs);
  // An output directory inside an input directory: its own files (tokenizer.json, ...) are no input.
  const std::string out_prefix = fs::weakly_canonical(a.opts.out_dir).string() + "/";
  std::erase_if(a.opts.inputs, [&](const std::string& p) { return fs::weakly_canonical(p).string().starts_with(out_prefix); });
  if (a.opts.inputs.empty()) fail("no input files outside the output directory {}", a.opts.out_dir);
  if (a.opts.threads <= 0) a.opts.threads = omp_get_max_threads();
  a.opts.show_progress = true;
  StagedDir staged(out);
  struct sigaction sa {};
  sa.sa_handler = [](int) { interrupted().store(true); };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  a.opts.cancel = &interrupted();
  a.opts.out_dir = staged.path();
  PrepareSummary s;
  try {
    s = prepare_shards(tok, eot, a.opts);
    copy_tokenizer(tok, a.tokenizer, a.opts.out_dir);
    if (interrupted().load()) fail("interrupted");
  } catch (const Error&) {
    if (interrupted().load()) fail("interrupted: {} {}", out, fs::exists(out) ? "is left as it was" : "was not created");
    throw;
  }
  staged.commit();
  a.opts.out_dir = out;
  uint64_t tokens = s.train_tokens + s.val_tokens;
  std::fprintf(stderr,
               "prepared %llu documents from %zu files (%.2f MB, %llu characters): %llu tokens, %.4f tokens per "
               "character\n  train: %llu documents, %llu tokens in %zu shards; val: %llu documents, %llu tokens in "
               "%zu shards; %s ids, end-of-text id %d; %.2f s, %d threads\n",
               static_cast<unsigned long long>(s.documents), a.opts.inputs.size(), s.bytes / 1e6,
               static_cast<unsigned long long>(s.characters), static_cast<unsigned long long>(tokens),
               s.characters ? static_cast<double>(tokens) / s.characters : 0.0,
               static_cast<unsigned long long>(s.train_documents), static_cast<unsigned long long>(s.train_tokens),
               s.train_shards, static_cast<unsigned long long>(s.val_documents),
               static_cast<unsigned long long>(s.val_tokens), s.val_shards, s.uint16 ? "uint16" : "uint32", eot,
               s.seconds, a.opts.threads);
  std::printf("%s\n", a.opts.out_dir.c_str());
}

}  // namespace

BAIMO_COMMAND(30, [](CLI::App& root) {
  auto* sub = data_command(root)->add_subcommand(
      "prepare",
      "Tokenize a corpus into token shards for `baimo pretrain`.\n"
      "Inputs: plain text (one document per block of lines separated by a blank line), JSONL (one record "
      "per line) and JSON files (an array of records, or one object); directories are read recursively "
      "(sorted; .txt .text .md .json .jsonl files). A record's text is the first --field present: a "
      "string, or an array of strings joined with newlines (e.g. --field paragraphs). Documents are "
      "separated by the end-of-text token; each goes to train or val by a hash of (seed, its number), so "
      "re-running gives byte-identical shards.");
  auto a = std::make_shared<PrepareArgs>();
  sub->add_option("--tokenizer", a->tokenizer, "tokenizer.json, a model directory holding one, a .gguf or a .tiktoken file")->required();
  sub->add_option("--input", a->inputs, "Files or directories")->required()->expected(1, -1);
  sub->add_option("--out", a->opts.out_dir, "Output directory: index.json, train_*.bin, val_*.bin, tokenizer.json")
      ->required();
  sub->add_option("--field", a->opts.fields,
                  "JSON/JSONL field path (dotted, e.g. meta.body); several: the first present in a record wins")
      ->capture_default_str()
      ->expected(1, -1);
  sub->add_option("--val-fraction", a->opts.val_fraction, "Fraction of documents held out for validation")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.5));
  sub->add_option("--seed", a->opts.seed, "Seed of the train/val split")->capture_default_str();
  sub->add_option("--threads", a->opts.threads, "Tokenizer threads (default: all cores)")->check(CLI::PositiveNumber);
  sub->add_option("--shard-tokens", a->opts.shard_tokens, "Tokens per shard file")->capture_default_str()->check(CLI::PositiveNumber);
  sub->callback([a] { run_prepare(*a); });
});

}  // namespace baimo::cli
