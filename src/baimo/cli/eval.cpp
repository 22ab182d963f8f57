// baimo eval perplexity --model M --input FILE [--ctx N] [--stride S] [--dtype T] [--lora DIR] [--threads N]
// Tokenizes FILE (plain text, special tokens as text; the BOS first for models that add one), computes the sliding-window perplexity
// (infer/perplexity.h) and prints: tokens, scored tokens, windows, mean NLL (nats/token), perplexity.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "baimo/cli/command.h"
#include "baimo/cli/threads_flag.h"
#include "baimo/cli/eval_run.h"
#include "baimo/cli/eval_winrate.h"
#include "baimo/infer/inference_model.h"
#include "baimo/infer/perplexity.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::cli {
namespace {

struct EvalArgs {
  std::string model, input, dtype, lora;
  int64_t ctx = 0, stride = 0, limit = 0;
  int threads = 0;
};

void run_perplexity(const EvalArgs& a) {
  const int threads = apply_threads(a.threads);
  InferenceModel m = load_inference_model(a.model, a.dtype, "", a.lora);
  const ModelConfig& c = m.config();
  const int64_t ctx = a.ctx > 0 ? a.ctx : std::min<int64_t>(c.max_position_embeddings, 1024);
  if (ctx > c.max_position_embeddings) fail("--ctx {} exceeds the model's max_position_embeddings {}", ctx, c.max_position_embeddings);
  const int64_t stride = a.stride > 0 ? a.stride : std::max<int64_t>(1, ctx / 2);
  const std::vector<int32_t> ids = perplexity_ids(*m.tokenizer, read_file(a.input), a.limit);
  if (ids.size() < 2) fail("{}: {} token(s); perplexity needs at least 2", a.input, ids.size());
  Engine engine(m.weights, 1, ctx);
  const int64_t chunk = perplexity_chunk(c.vocab_size);
  auto t0 = std::chrono::steady_clock::now();
  PerplexityResult r = perplexity(engine, ids, ctx, stride, chunk);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!std::isfinite(r.nll))
    fail("{}: the model's outputs are not finite (NaN or Inf), so its perplexity is undefined; "
         "`baimo model info --model {}` names the tensors with NaN/Inf weights", a.model, a.model);
  std::printf("tokens     %lld\nscored     %lld\nwindows    %lld (ctx %lld, stride %lld)\nnll        %.6f\n"
              "perplexity %.4f\ntime       %.2f s (%.0f tokens/s, %d threads)\n",
              static_cast<long long>(r.tokens), static_cast<long long>(r.scored), static_cast<long long>(r.windows),
              static_cast<long long>(ctx), static_cast<long long>(stride), r.nll, r.perplexity, s,
              s > 0 ? r.windows * static_cast<double>(std::min<int64_t>(ctx, r.tokens)) / s : 0.0, threads);
}

}  // namespace

BAIMO_COMMAND(45, [](CLI::App& root) {
  auto* ev = root.add_subcommand("eval", "Evaluate a model");
  ev->require_subcommand(1);
  auto a = std::make_shared<EvalArgs>();
  auto* sub = ev->add_subcommand("perplexity", "Sliding-window perplexity of a model on a text file");
  sub->add_option("--model", a->model, "Model directory or .gguf file")->required();
  sub->add_option("--input", a->input, "Plain-text file")->required();
  sub->add_option("--ctx", a->ctx, "Window in tokens (default: the model's context, at most 1024)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 24));
  sub->add_option("--stride", a->stride, "Window step in tokens (default: ctx / 2)")->check(CLI::PositiveNumber);
  sub->add_option("--limit", a->limit, "Evaluate only the first N tokens")->check(CLI::Range(int64_t{2}, INT64_MAX));
  sub->add_option("--dtype", a->dtype, "Convert a model directory's weights at load: f32, f16, bf16, q8_0, q4_0");
  sub->add_option("--lora", a->lora, "PEFT LoRA adapter directory applied to the weights at load");
  add_threads_flag(sub, a->threads);
  sub->callback([a] { run_perplexity(*a); });
  add_eval_run(*ev);
  add_eval_winrate(*ev);
});

}  // namespace baimo::cli
