// baimo grow --from SMALL --config BIG.json --out DIR [--depth identity|stack] [--noise R] [--seed N]
//            [--eval-text FILE [--eval-tokens N]] [--force] [--threads N]
// Warm start: writes a model directory of config BIG whose weights come from the trained model
// directory SMALL (compress/grow_model.h: width by exact copies of units and heads, depth by identity
// layers or by stacking), with SMALL's tokenizer, tokenizer_config and generation_config; the grown
// config keeps SMALL's bos / eos / pad ids (the tokenizer is SMALL's). Prints the layer map and, with
// --eval-text, the perplexity of both models on the text's first --eval-tokens tokens (identity growth:
// the same; stack: higher). Then `baimo pretrain --init DIR` trains it on. Every flag and both configs
// are checked before anything is written.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "baimo/cli/command.h"
#include "baimo/cli/threads_flag.h"
#include "baimo/compress/grow_model.h"
#include "baimo/infer/inference_model.h"
#include "baimo/infer/perplexity.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {

struct GrowArgs {
  std::string from, config, out, depth = "identity", eval_text;
  double noise = 0.1;
  uint64_t seed = 0;
  int64_t eval_tokens = 8192;
  int threads = 0;
  bool force = false;
};

// Perplexity of the model at `dir` on the first `limit` tokens of `text`, windows of up to 1,024 tokens.
PerplexityResult text_perplexity(const std::string& dir, const std::string& text, int64_t limit) {
  InferenceModel m = load_inference_model(dir);
  const int64_t ctx = std::min<int64_t>(m.config().max_position_embeddings, 1024);
  Engine engine(m.weights, 1, ctx);
  return perplexity(engine, perplexity_ids(*m.tokenizer, text, limit), ctx, ctx,
                    perplexity_chunk(m.config().vocab_size));
}

void run_grow(const GrowArgs& a) {
  namespace fs = std::filesystem;
  apply_threads(a.threads);
  const DepthGrowth depth = parse_depth_growth(a.depth);
  if (!(a.noise >= 0) || !std::isfinite(a.noise)) fail("--noise {}: must be a number >= 0", a.noise);
  if (a.eval_tokens < 2) fail("--eval-tokens {}: need at least 2", a.eval_tokens);
  if (!open_model(a.from).is_dir())
    fail("--from {}: baimo grow reads a model directory (config.json + safetensors)", a.from);
  std::error_code ec;
  if (fs::equivalent(a.from, a.out, ec))
    fail("--out {} is the --from model directory; write the grown model elsewhere", a.out);
  if (fs::exists(fs::path(a.out) / "model.safetensors") && !a.force)
    fail("{} already holds a model (model.safetensors); pass --force to overwrite it", a.out);
  std::string text;
  if (!a.eval_text.empty()) {
    text = read_file(a.eval_text);
    if (text.empty()) fail("--eval-text {}: the file is empty", a.eval_text);
  }
  const ModelConfig small = load_model_dir_config(a.from);
  ModelConfig big = load_model_config(a.config);
  if (big.bos_token_id != small.bos_token_id || big.eos_token_ids != small.eos_token_ids)
    std::fprintf(stderr, "baimo grow: note: the grown model keeps %s's bos / eos ids (its tokenizer), not %s's\n",
                 a.from.c_str(), a.config.c_str());
  big.bos_token_id = small.bos_token_id, big.eos_token_ids = small.eos_token_ids, big.pad_token_id = small.pad_token_id;
  const GrowthPlan plan = plan_growth(small, big, depth);
  prepare_output_dir(a.out);

  const auto t0 = std::chrono::steady_clock::now();
  ParamMap params = read_model_dir_params(a.from, small);
  const ParamMap grown = grow_model(small, params, big, plan, a.noise, a.seed);
  params.clear();
  save_derived_model_dir(a.out, big, grown, a.from);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::printf("grow: %.2fM -> %.2fM parameters; hidden %lld -> %lld (x%lld), heads %lld/%lld -> %lld/%lld, "
              "intermediate %lld -> %lld (x%lld), layers %lld -> %lld (%s)\n",
              small.parameter_count() / 1e6, big.parameter_count() / 1e6, static_cast<long long>(small.hidden_size),
              static_cast<long long>(big.hidden_size), static_cast<long long>(plan.width),
              static_cast<long long>(small.num_attention_heads), static_cast<long long>(small.num_key_value_heads),
              static_cast<long long>(big.num_attention_heads), static_cast<long long>(big.num_key_value_heads),
              static_cast<long long>(small.intermediate_size), static_cast<long long>(big.intermediate_size),
              static_cast<long long>(plan.ffn), static_cast<long long>(small.num_hidden_layers),
              static_cast<long long>(big.num_hidden_layers), a.depth.c_str());
  std::string map;
  for (size_t i = 0; i < plan.source.size(); ++i)
    map += (i ? " " : "") + std::to_string(plan.source[i]) + (plan.zero_output[i] ? "*" : "");
  std::printf("layers from: %s%s\n", map.c_str(), depth == DepthGrowth::Identity ? "  (* = identity copy)" : "");
  std::printf("wrote %s (%.1f s)\n", a.out.c_str(), secs);
  if (!text.empty()) {
    const PerplexityResult before = text_perplexity(a.from, text, a.eval_tokens);
    const PerplexityResult after = text_perplexity(a.out, text, a.eval_tokens);
    std::printf("eval %s, %lld tokens: small nll %.4f (ppl %.2f), grown nll %.4f (ppl %.2f)\n", a.eval_text.c_str(),
                static_cast<long long>(before.tokens), before.nll, before.perplexity, after.nll, after.perplexity);
  }
}

BAIMO_COMMAND(65, [](CLI::App& root) {
  auto a = std::make_shared<GrowArgs>();
  auto* sub = root.add_subcommand("grow", "Warm start: grow a trained model into a bigger config "
                                          "(wider by copied units, deeper by identity or stacked layers)");
  sub->add_option("--from", a->from, "Trained model directory")->required();
  sub->add_option("--config", a->config, "config.json of the bigger model")->required();
  sub->add_option("--out", a->out, "Model directory to write")->required();
  sub->add_option("--depth", a->depth, "New layers: identity (copies with zero output, function kept) or stack "
                                       "(layer i = small layer i mod L)")->capture_default_str();
  sub->add_option("--noise", a->noise, "Zero-sum noise on copied weights, a fraction of each matrix's RMS "
                                       "(breaks the copies' symmetry; outputs unchanged)")->capture_default_str();
  sub->add_option("--seed", a->seed, "Seed of the noise")->capture_default_str();
  sub->add_option("--eval-text", a->eval_text, "Text file: print both models' perplexity on it");
  sub->add_option("--eval-tokens", a->eval_tokens, "Tokens of --eval-text to score")->capture_default_str();
  sub->add_flag("--force", a->force, "Overwrite a model already in --out");
  add_threads_flag(sub, a->threads);
  sub->callback([a] { run_grow(*a); });
});

}  // namespace
}  // namespace baimo::cli
