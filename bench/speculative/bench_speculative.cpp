// bench_speculative: plain vs speculative greedy decoding at batch 1 on the same target, in the same
// run (infer/speculative.h, generate.h).
//   Target: --target DIR (a trained model; bench/speculative/run passes ../shared/models/base-small-zh-en).
//   Drafts: n-gram prompt lookup (--draft-ngram 3, k 8), the target itself quantized at load to Q8_0
//           and to Q4_0 as draft models (k 5), and --draft DIR when given (a smaller model, same tokenizer;
//           as stored, and quantized at load to Q8_0 and Q4_0).
//   Work:   greedy continuations (max --tokens, default 128; --quick: 1 prompt, 32 tokens, 1 repetition)
//           of prompts that invite copying (a text and the start of its repetition, English and
//           Chinese) and one that does not (a free continuation); the end-of-text token ends them as
//           in plain use. Every speculative run must produce the plain run's tokens (checked).
//   Order:  per repetition: plain, then each draft (A B A B), every prompt; decode tokens/s = tokens
//           after the first (which comes from the prefill) / decode seconds (the draft model's own
//           prefill of the prompt included: a fresh drafter per run), summed over prompts; medians
//           over repetitions.
// Prints per draft: acceptance, tokens per target pass, tokens/s and the ratio to plain; last line
// `ratio speculative X` = the best ratio of the --draft model's forms, else of the self-drafts
// (issue 15's bar: >= 1.5 with a distilled draft).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "baimo/infer/generate.h"
#include "baimo/infer/inference_model.h"
#include "baimo/infer/model_draft.h"
#include "baimo/infer/ngram_draft.h"
#include "baimo/util/error.h"

using namespace baimo;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

const char* kPrompts[] = {
    "The old bridge crossed the river at the narrowest point of the valley. Every morning the farmers brought "
    "their carts over it to the market, and every evening they returned with empty baskets and full purses. "
    "When the flood came in spring, the bridge held, and the people of the valley said it would stand for a "
    "hundred years.\n\nThe same story, copied word for word:\nThe old bridge crossed the river",
    "春风吹过山谷，桃花开满了小路。孩子们在河边放风筝，老人坐在树下喝茶，说着去年的收成。傍晚时分，炊烟升起，"
    "村子里传来饭菜的香味。\n\n再抄写一遍：\n春风吹过山谷，",
    "ROMEO:\nWhat light through yonder window breaks?",
};

struct Draft {
  std::string name;
  std::function<std::unique_ptr<Drafter>()> make;  // a fresh drafter per run (the draft's own prefill is timed)
  int k = 0;
  std::vector<double> tps;
  int64_t drafted = 0, accepted = 0, passes = 0, decoded = 0;
  bool identical = true;
};

struct Outcome {
  std::vector<int32_t> tokens;
  int64_t decoded = 0, passes = 0, drafted = 0, accepted = 0;
  double seconds = 0;
};

Outcome decode(const InferenceModel& m, Engine& engine, const std::vector<int32_t>& prompt, int max_tokens,
               Drafter* drafter, int k) {
  GenerationOptions o;
  o.sampling.temperature = 0;
  o.max_tokens = max_tokens;
  o.eos_ids = m.eos_ids;
  Sequence seq(*m.tokenizer, prompt, o);
  GenerateOptions go;
  go.drafter = drafter;
  go.draft_k = k;
  engine.cache().truncate(0, 0);
  const GenerateResult r = generate(engine, 0, seq, {}, go);
  return {r.tokens, static_cast<int64_t>(r.tokens.size()) - 1, r.target_passes, r.drafted, r.accepted,
          r.decode_seconds};
}

}  // namespace

int main(int argc, char** argv) {
  std::string target, draft_dir;
  bool quick = false;
  int tokens = 128, reps = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--target" && i + 1 < argc) target = argv[++i];
    else if (a == "--draft" && i + 1 < argc) draft_dir = argv[++i];
    else if (a == "--tokens" && i + 1 < argc) tokens = std::stoi(argv[++i]);
    else if (a == "--reps" && i + 1 < argc) reps = std::stoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_speculative --target DIR [--draft DIR] [--tokens N] [--reps R] [--quick]\n");
      return 2;
    }
  }
  if (target.empty()) {
    std::fprintf(stderr, "bench_speculative: --target DIR is required\n");
    return 2;
  }
  if (quick) tokens = 32, reps = 1;
  const size_t n_prompts = quick ? 1 : std::size(kPrompts);
  try {
    const InferenceModel m = load_inference_model(target);
    const int64_t ctx = std::min<int64_t>(m.config().max_position_embeddings, 1024);
    std::vector<std::vector<int32_t>> prompts;
    for (size_t p = 0; p < n_prompts; ++p) prompts.push_back(encode_prompt(m, kPrompts[p]));
    std::printf("# bench speculative: target %s, threads %d, %zu prompts, %d tokens max, %d repetitions\n",
                target.c_str(), omp_get_max_threads(), prompts.size(), tokens, reps);

    std::vector<Draft> drafts;
    auto add = [&](const std::string& name, std::function<std::unique_ptr<Drafter>()> make, int k) {
      Draft d;
      d.name = name;
      d.make = std::move(make);
      d.k = k;
      drafts.push_back(std::move(d));
    };
    add("ngram3", [] { return std::make_unique<NgramDrafter>(3); }, 8);
    auto add_model = [&](const std::string& name, const std::string& path, const std::string& dtype) {
      const InferenceModel d = load_inference_model(path, dtype);
      check_draft_compatible(m.config(), *m.tokenizer, target, d.config(), *d.tokenizer, path);
      SamplingParams greedy;
      greedy.temperature = 0;
      add(name, [w = d.weights, ctx, greedy] { return std::make_unique<ModelDrafter>(w, ctx, greedy); }, 5);
    };
    add_model("self_q8_0", target, "q8_0");
    add_model("self_q4_0", target, "q4_0");
    if (!draft_dir.empty())
      for (const char* dtype : {"", "q8_0", "q4_0"})
        add_model(std::string("draft") + (*dtype ? "_" : "") + dtype, draft_dir, dtype);

    Engine engine(m.weights, 1, ctx);
    std::vector<std::vector<int32_t>> plain_tokens(prompts.size());
    for (size_t p = 0; p < prompts.size(); ++p)  // warm-up, and the reference tokens
      plain_tokens[p] = decode(m, engine, prompts[p], tokens, nullptr, 1).tokens;
    std::vector<double> plain_tps;
    for (int r = 0; r < reps; ++r) {
      int64_t n = 0;
      double s = 0;
      for (size_t p = 0; p < prompts.size(); ++p) {
        const Outcome o = decode(m, engine, prompts[p], tokens, nullptr, 1);
        n += o.decoded, s += o.seconds;
      }
      plain_tps.push_back(n / s);
      for (Draft& d : drafts) {
        n = 0, s = 0;
        for (size_t p = 0; p < prompts.size(); ++p) {
          const std::unique_ptr<Drafter> drafter = d.make();
          const Outcome o = decode(m, engine, prompts[p], tokens, drafter.get(), d.k);
          n += o.decoded, s += o.seconds;
          d.identical = d.identical && o.tokens == plain_tokens[p];
          if (r == 0) d.drafted += o.drafted, d.accepted += o.accepted, d.passes += o.passes, d.decoded += o.decoded;
        }
        d.tps.push_back(n / s);
      }
    }
    const double plain = median(plain_tps);
    std::printf("bench speculative plain_decode_b1 %.1f tokens/s\n", plain);
    double best_model = 0;
    for (const Draft& d : drafts) {
      const double tps = median(d.tps), ratio = tps / plain;
      std::printf("bench speculative %s_acceptance %.3f (%lld of %lld drafts, k %d)\n", d.name.c_str(),
                  d.drafted ? static_cast<double>(d.accepted) / d.drafted : 0.0, static_cast<long long>(d.accepted),
                  static_cast<long long>(d.drafted), d.k);
      std::printf("bench speculative %s_tokens_per_target_pass %.2f\n", d.name.c_str(),
                  d.passes ? static_cast<double>(d.decoded) / d.passes : 0.0);
      std::printf("bench speculative %s_decode_b1 %.1f tokens/s\n", d.name.c_str(), tps);
      std::printf("bench speculative %s_identical_to_plain %s\n", d.name.c_str(), d.identical ? "yes" : "NO");
      std::printf("bench speculative %s_ratio %.3f\n", d.name.c_str(), ratio);
      // The bar's figure: the best given draft when there is one, else the best self-draft.
      if (d.name != "ngram3" && (draft_dir.empty() || d.name.starts_with("draft")))
        best_model = std::max(best_model, ratio);
    }
    std::printf("ratio speculative %.3f\n", best_model);
    for (const Draft& d : drafts)
      if (!d.identical) return 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_speculative: %s\n", e.what());
    return 1;
  }
  return 0;
}
