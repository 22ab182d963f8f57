// bench_structured: decode tokens/s with a JSON-schema constraint (infer/constrained/) against free
// decoding, same model, same run.
//   Model:  configs/qwen2-0.5b.json (vocab 151,936), random weights in Q8_0 (weights_from_transformer,
//           as bench/generate does), the Qwen2.5 tokenizer ($BAIMO_SHARED/vectors/qwen2_5, 151,665 tokens).
//           --quick: 2 layers, few steps.
//   Work:   decode at batch 1 and batch 8 (one token per slot per step), temperature 1. A constrained
//           sequence that finishes (its JSON is complete) restarts from its prompt in the same slot;
//           free sequences restart every 48 tokens, so both keep short KV caches.
//   Masks:  a warm-up pass fills the constraint's per-state mask cache first (the constraint object is
//           shared by every request with the same schema: what a server sees after its first answers);
//           the cold cost (masks computed, ms each) is printed too.
//   Order:  per repetition free then constrained at each batch size; medians over repetitions.
// Last line: `ratio structured X`, X = the smaller of the batch-1 and batch-8 ratios constrained / free
// (issue 17's bar: >= 0.9).
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "baimo/infer/constrained/constraint.h"
#include "baimo/infer/engine.h"
#include "baimo/infer/model_weights.h"
#include "baimo/infer/sequence.h"
#include "baimo/model/config.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/tokenizer.h"

using namespace baimo;

namespace {

const char* kSchema = R"({"type":"object","properties":{
  "name":{"type":"string","maxLength":12},"age":{"type":"integer"},"city":{"enum":["Beijing","Paris","New York"]},
  "tags":{"type":"array","items":{"type":"string","maxLength":6},"maxItems":3},"ok":{"type":"boolean"}},
  "required":["name","age","city","tags","ok"],"additionalProperties":false})";

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Decodes `steps` steps on `batch` slots; returns tokens/s.
double run(Engine& engine, const Tokenizer& tok, const std::vector<int32_t>& prompt, int batch, int steps,
           const std::shared_ptr<const constrained::Constraint>& c, uint64_t seed) {
  KvCache& cache = engine.cache();
  const int64_t P = static_cast<int64_t>(prompt.size());
  std::vector<float> logits;
  std::vector<std::unique_ptr<Sequence>> seqs(static_cast<size_t>(batch));
  std::vector<int32_t> next(static_cast<size_t>(batch));
  auto restart = [&](int s) {
    GenerationOptions o;
    o.sampling.temperature = 1;
    o.sampling.seed = seed + static_cast<uint64_t>(s) * 7919;
    o.max_tokens = c ? 1000 : 48;
    o.ignore_eos = !c;
    o.constraint = c;
    seqs[static_cast<size_t>(s)] = std::make_unique<Sequence>(tok, prompt, o);
    cache.truncate(s, P - 1);  // the prompt stays cached; its last token is fed again
    next[static_cast<size_t>(s)] = prompt.back();
  };
  for (int s = 0; s < batch; ++s) restart(s);
  std::vector<Engine::Chunk> chunks(static_cast<size_t>(batch));
  const size_t V = static_cast<size_t>(engine.weights().config.vocab_size);
  const double t0 = now();
  for (int step = 0; step < steps; ++step) {
    for (int s = 0; s < batch; ++s) chunks[static_cast<size_t>(s)] = {s, std::span(&next[static_cast<size_t>(s)], 1)};
    engine.forward(chunks, logits);
    for (int s = 0; s < batch; ++s) {
      // Ids past the tokenizer's 151,665 (the model's padding rows) never decode: both modes drop them.
      std::fill(logits.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(s) * V + tok.vocab_size()),
                logits.begin() + static_cast<ptrdiff_t>((static_cast<size_t>(s) + 1) * V), -1e30f);
      TokenStep t = seqs[static_cast<size_t>(s)]->accept(std::span(logits.data() + static_cast<size_t>(s) * V, V));
      if (t.finished) restart(s);
      else next[static_cast<size_t>(s)] = t.id;
    }
  }
  return static_cast<double>(steps) * batch / (now() - t0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_structured"};
  bool quick = false;
  int reps = 3, steps = 48;
  app.add_flag("--quick", quick);
  app.add_option("--reps", reps);
  app.add_option("--steps", steps);
  CLI11_PARSE(app, argc, argv);
  if (quick) reps = 1, steps = 12;
  try {
    const char* shared_env = std::getenv("BAIMO_SHARED");
    const std::string shared = shared_env && *shared_env ? shared_env : std::string(BAIMO_SOURCE_DIR) + "/../shared";
    Tokenizer tok = Tokenizer::from_tokenizer_json_file(shared + "/vectors/qwen2_5/tokenizer.json");
    ModelConfig cfg = load_model_config(std::string(BAIMO_SOURCE_DIR) + "/configs/qwen2-0.5b.json");
    if (quick) cfg.num_hidden_layers = 2;
    cfg.max_position_embeddings = std::min<int64_t>(cfg.max_position_embeddings, 1024);
    cfg.validate("qwen2-0.5b");
    auto weights = std::make_shared<const ModelWeights>(weights_from_transformer(Transformer::random(cfg, 1), DType::Q8_0));
    std::printf("model: qwen2-0.5b shape, %lld layers, vocab %lld, Q8_0, random weights; %d threads\n",
                static_cast<long long>(cfg.num_hidden_layers), static_cast<long long>(cfg.vocab_size), omp_get_max_threads());
    std::vector<int32_t> prompt;
    for (uint32_t id : tok.encode("Give me a person as JSON:")) prompt.push_back(static_cast<int32_t>(id));
    Engine engine(weights, 8, 512);
    for (int s = 0; s < 8; ++s) {
      Engine::Chunk ch{s, prompt};
      std::vector<float> l;
      engine.forward(std::span(&ch, 1), l);
    }
    double t0 = now();
    auto c = constrained::Constraint::from_json_schema(kSchema, tok);
    std::printf("compile schema + token trie: %.1f ms\n", (now() - t0) * 1e3);
    t0 = now();
    run(engine, tok, prompt, 8, quick ? 12 : 64, c, 99);  // warm-up: fills the mask cache
    const double warm = now() - t0;
    std::printf("warm-up: %zu masks cached in %.2f s (cold masks included)\n", c->cached_masks(), warm);
    double worst = 1e9;
    for (int batch : {1, 8}) {
      std::vector<double> fr, cr;
      for (int r = 0; r < reps; ++r) {
        fr.push_back(run(engine, tok, prompt, batch, steps, nullptr, 1000 + static_cast<uint64_t>(r)));
        cr.push_back(run(engine, tok, prompt, batch, steps, c, 1000 + static_cast<uint64_t>(r)));
      }
      const double f = median(fr), k = median(cr), ratio = k / f;
      worst = std::min(worst, ratio);
      std::printf("batch %d: free %.2f tok/s, constrained %.2f tok/s, ratio %.3f (median of %d; masks cached now %zu)\n", batch,
                  f, k, ratio, reps, c->cached_masks());
    }
    std::printf("ratio structured %.3f\n", worst);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_structured: %s\n", e.what());
    return 1;
  }
  return 0;
}
