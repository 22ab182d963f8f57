// bench_sparse24: does the compact 2:4 form decode faster than dense at the same quantization?
// The same 2:4-pruned model as two GGUF files, written by `baimo quantize --type q8_0` (dense: zeros
// stored) and `... --sparse 2:4` (Q8_0_S24: kept values + 2-bit positions, 22 instead of 34 bytes
// per 32 weights in the layer matrices), loaded by load_gguf_model as `generate` / `serve` load them.
//   Check:  the logits of a 16-token prompt are bit-identical, and 32 greedy tokens equal.
//   Work:   decode batch 1 (one slot, one token per step), decode batch 8, prefill of one chunk,
//           on one engine per file; per repetition dense then sparse (A B A B), medians.
//   Also:   file sizes and weight bytes read per decoded token (layer matrices + LM head).
// Last line: `ratio sparse24 X`, X = sparse / dense decode tokens/s at batch 1.
// Usage: bench_sparse24 --dense A.gguf --sparse B.gguf [--quick]   (bench/sparse24/run makes the files)
#include <omp.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "baimo/infer/engine.h"
#include "baimo/infer/gguf_model.h"

#include "../decode_speed.h"

using namespace baimo;
using namespace baimo::bench;

namespace {

struct Case {
  std::string name, path;
  std::shared_ptr<const ModelWeights> w;
  DecodeSpeed speed;
};

// Logits of a prompt, then `steps` greedy tokens.
std::vector<int32_t> greedy(const std::shared_ptr<const ModelWeights>& w, int steps, std::vector<float>& first_logits) {
  const int64_t vocab = w->config.vocab_size;
  Engine e(w, 1, 16 + steps + 1);
  std::vector<int32_t> prompt(16), out;
  for (int i = 0; i < 16; ++i) prompt[i] = bench_token(i, vocab);
  Engine::Chunk ch{0, prompt};
  e.forward({&ch, 1}, first_logits);
  std::vector<float> logits = first_logits;
  for (int s = 0; s < steps; ++s) {
    const float* row = logits.data() + logits.size() - static_cast<size_t>(vocab);
    int32_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (row[v] > row[best]) best = static_cast<int32_t>(v);
    out.push_back(best);
    std::vector<int32_t> one{best};
    Engine::Chunk c1{0, one};
    e.forward({&c1, 1}, logits);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string dense, sparse;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--dense" && i + 1 < argc) dense = argv[++i];
    else if (a == "--sparse" && i + 1 < argc) sparse = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_sparse24 --dense A.gguf --sparse B.gguf [--quick]\n");
      return 2;
    }
  }
  if (dense.empty() || sparse.empty()) {
    std::fprintf(stderr, "usage: bench_sparse24 --dense A.gguf --sparse B.gguf [--quick]\n");
    return 2;
  }
  const int reps = quick ? 3 : 7, decode_steps = quick ? 8 : 32, prefill_tokens = quick ? 64 : 256;
  Case cases[2] = {{"dense_q8_0", dense, nullptr, {}}, {"sparse_q8_0_2of4", sparse, nullptr, {}}};
  for (Case& c : cases) c.w = std::make_shared<const ModelWeights>(load_gguf_model(c.path));
  std::printf("# bench sparse24: threads %d, %d repetitions, %d decode steps, prefill %d, 2:4 kernel %s\n",
              omp_get_max_threads(), reps, decode_steps, prefill_tokens,
              cases[1].w->layers[0].up.type == DType::Q8_0_S24 ? "on" : "off (no AVX-512 VBMI: run as dense Q8_0)");

  std::vector<float> la, lb;
  const std::vector<int32_t> ta = greedy(cases[0].w, 32, la), tb = greedy(cases[1].w, 32, lb);
  const bool same_logits = la.size() == lb.size() && std::memcmp(la.data(), lb.data(), la.size() * 4) == 0;
  std::printf("bench sparse24 same_logits %s\nbench sparse24 same_greedy_tokens %s\n", same_logits ? "yes" : "NO",
              ta == tb ? "yes" : "NO");
  if (!same_logits || ta != tb) return 1;

  for (Case& c : cases) time_decode(c.w, 2, 16, c.speed);  // warm-up
  for (Case& c : cases) c.speed.clear();
  for (int r = 0; r < reps; ++r)
    for (Case& c : cases) time_decode(c.w, decode_steps, prefill_tokens, c.speed);
  for (Case& c : cases) {
    std::printf("bench sparse24 %s_file_size %.1f MB\n", c.name.c_str(), std::filesystem::file_size(c.path) / 1e6);
    std::printf("bench sparse24 %s_weight_bytes_per_token %.1f MB\n", c.name.c_str(), weight_bytes_per_token(*c.w) / 1e6);
    std::printf("bench sparse24 %s_decode_b1 %.2f tokens/s\n", c.name.c_str(), median(c.speed.b1));
    std::printf("bench sparse24 %s_decode_b8 %.2f tokens/s\n", c.name.c_str(), median(c.speed.b8));
    std::printf("bench sparse24 %s_prefill%d %.1f tokens/s\n", c.name.c_str(), prefill_tokens, median(c.speed.prefill));
  }
  std::printf("bench sparse24 ratio_decode_b8 %.3f\n", median(cases[1].speed.b8) / median(cases[0].speed.b8));
  std::printf("bench sparse24 ratio_prefill %.3f\n", median(cases[1].speed.prefill) / median(cases[0].speed.prefill));
  std::printf("ratio sparse24 %.3f\n", median(cases[1].speed.b1) / median(cases[0].speed.b1));
  return 0;
}
