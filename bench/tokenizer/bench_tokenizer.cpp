// bench_tokenizer: baimo's side of bench/tokenizer (driven by bench/tokenizer/run).
//   bench_tokenizer encode --tiktoken RANKS --encoding cl100k_base|o200k_base --input TEXT
//                          [--threads N] [--reps R]
// Loads the rank file, reads TEXT, then times Tokenizer::encode_parallel (special tokens as
// text, like the anchors) and prints `mbps X tokens N seconds S` for the fastest of R runs
// (R = 1 by default; the script alternates processes for the medians).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

using namespace baimo;

int main(int argc, char** argv) {
  try {
    if (argc < 2 || std::strcmp(argv[1], "encode") != 0)
      fail("usage: bench_tokenizer encode --tiktoken RANKS --encoding cl100k_base --input TEXT [--threads N] [--reps R]");
    std::string ranks, encoding = "cl100k_base", input;
    int threads = 1, reps = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
      std::string k = argv[i], v = argv[i + 1];
      if (k == "--tiktoken") ranks = v;
      else if (k == "--encoding") encoding = v;
      else if (k == "--input") input = v;
      else if (k == "--threads") threads = std::stoi(v);
      else if (k == "--reps") reps = std::stoi(v);
      else fail("bench_tokenizer: unknown option {}", k);
    }
    std::optional<PreTokenizerKind> kind = kind_from_name(encoding);
    if (!kind) fail("bench_tokenizer: unknown encoding {}", encoding);
    Tokenizer tok = Tokenizer::from_tiktoken_file(ranks, *kind);
    std::string text = read_file(input);
    double best = 1e30;
    size_t tokens = 0;
    for (int r = 0; r < std::max(1, reps); ++r) {
      auto t0 = std::chrono::steady_clock::now();
      std::vector<uint32_t> ids = tok.encode_parallel(text, Specials::AsText, threads);
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::min(best, dt);
      tokens = ids.size();
    }
    std::printf("mbps %.4f tokens %zu seconds %.4f\n", text.size() / best / 1e6, tokens, best);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_tokenizer: %s\n", e.what());
    return 1;
  }
}
