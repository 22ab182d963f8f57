// baimo tokenizer encode --tokenizer PATH [--json] [--allow-special] [--pattern P]   stdin text -> ids
// baimo tokenizer decode --tokenizer PATH [--pattern P]                             stdin ids -> text
// baimo tokenizer stats  --tokenizer PATH --input FILE [--threads N] [--pattern P]
//   tokens per character and per byte of FILE, and encode throughput in MB/s.
// PATH: a tokenizer.json (or a model directory holding one), a .gguf file, or a tiktoken rank file
// (pattern from --pattern cl100k|o200k|gpt2, else guessed from the file name).
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "baimo/cli/command.h"
#include "baimo/cli/tokenizer_command.h"
#include "baimo/convert/gguf_tokenizer.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::cli {
namespace {

struct TokOpts {
  std::string path;
  std::string pattern;
  bool json = false;
  bool allow_special = false;
  std::string input;
  int threads = 0;
};

std::string read_stdin() {
  std::string s;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) s.append(buf, n);
  return s;
}

void write_all(std::string_view s) {
  if (!s.empty() && std::fwrite(s.data(), 1, s.size(), stdout) != s.size()) fail("tokenizer: writing stdout failed");
}

void run_encode(const TokOpts& o) {
  Tokenizer tok = load_tokenizer(o.path, o.pattern);
  std::string text = read_stdin();
  const Specials sp = o.allow_special ? Specials::Allow : Specials::AsText;
  std::vector<uint32_t> ids = text.size() > (1u << 20) ? tok.encode_parallel(text, sp) : tok.encode(text, sp);
  std::string out;
  out.reserve(ids.size() * 7 + 4);
  if (o.json) out += '[';
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += o.json ? "," : " ";
    out += std::to_string(ids[i]);
  }
  if (o.json) out += ']';
  out += '\n';
  write_all(out);
}

// Ids separated by white space and/or commas, optionally inside one JSON array.
std::vector<uint32_t> parse_ids(std::string_view s) {
  std::vector<uint32_t> ids;
  size_t i = 0, line = 1;
  bool open = false, closed = false;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\n') ++line;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
      ++i;
      continue;
    }
    if (c == '[' && !open && ids.empty()) {
      open = true;
      ++i;
      continue;
    }
    if (c == ']' && open && !closed) {
      closed = true;
      ++i;
      continue;
    }
    if (c < '0' || c > '9' || closed)
      fail("tokenizer decode: stdin line {}: expected a token id (non-negative integer), got '{}'", line, c);
    uint64_t v = 0;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + uint64_t(s[i] - '0');
      if (v > 0xFFFFFFFFull || i - start > 10)
        fail("tokenizer decode: stdin line {}: token id {}... is too large", line, s.substr(start, i - start + 1));
      ++i;
    }
    ids.push_back(static_cast<uint32_t>(v));
  }
  if (open && !closed) fail("tokenizer decode: stdin: '[' without a closing ']'");
  return ids;
}

void run_decode(const TokOpts& o) {
  Tokenizer tok = load_tokenizer(o.path, o.pattern);
  std::vector<uint32_t> ids = parse_ids(read_stdin());
  for (uint32_t id : ids)
    if (id >= tok.vocab_size())
      fail("tokenizer decode: id {} is out of range (vocabulary size {})", id, tok.vocab_size());
  write_all(tok.decode(ids));
}

size_t utf8_chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void run_stats(const TokOpts& o) {
  Tokenizer tok = load_tokenizer(o.path, o.pattern);
  MappedFile f(o.input);
  std::string_view text = f.view();
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<uint32_t> ids = tok.encode_parallel(text, Specials::AsText, threads);
  double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const size_t chars = utf8_chars(text);
  std::printf("file %s\n", o.input.c_str());
  std::printf("bytes %zu\nchars %zu\ntokens %zu\n", text.size(), chars, ids.size());
  std::printf("tokens_per_char %.4f\ntokens_per_byte %.4f\n", chars ? double(ids.size()) / chars : 0.0,
              text.empty() ? 0.0 : double(ids.size()) / text.size());
  std::printf("encode_seconds %.4f\nencode_MB_per_s %.2f\nthreads %d\n", sec,
              sec > 0 ? text.size() / 1e6 / sec : 0.0, threads);
}

void add_common(CLI::App* sub, TokOpts& o) {
  sub->add_option("--tokenizer", o.path, "tokenizer.json, model directory, .gguf or .tiktoken file")->required();
  sub->add_option("--pattern", o.pattern, "Split pattern of a tiktoken rank file: cl100k, o200k or gpt2");
}

}  // namespace

BAIMO_COMMAND(12, [](CLI::App& root) {
  CLI::App* tok = tokenizer_command(root);
  auto o = std::make_shared<TokOpts>();

  auto* enc = tok->add_subcommand("encode", "Encode text from stdin to token ids");
  add_common(enc, *o);
  enc->add_flag("--json", o->json, "Print a JSON array instead of space-separated ids");
  enc->add_flag("--allow-special", o->allow_special,
                "Recognise special/added tokens written in the text (default: encode them as plain text)");
  enc->callback([o] { run_encode(*o); });

  auto* dec = tok->add_subcommand("decode", "Decode token ids from stdin (space/comma separated or a JSON array)");
  add_common(dec, *o);
  dec->callback([o] { run_decode(*o); });

  auto* st = tok->add_subcommand("stats", "Tokens per character and per byte of a file, and encode speed");
  add_common(st, *o);
  st->add_option("--input", o->input, "Text file")->required();
  st->add_option("--threads", o->threads, "Threads (default: all cores)")->check(CLI::PositiveNumber);
  st->callback([o] { run_stats(*o); });
});

}  // namespace baimo::cli
