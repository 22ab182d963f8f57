// baimo prune --model M --method magnitude|wanda (--sparsity P | --pattern N:M)
//             [--calib FILE... --calib-tokens N --seq L --field F] --out DIR [--force] [--threads N]
// baimo prune --model M --structured SMALL.json --calib FILE... [...] --out DIR
// Prunes every linear weight of the transformer blocks of model directory M (compress/prune_model.h:
// per-output-row masks by |W| or by Wanda's |W| * ||X||) and writes an ordinary model directory
// (zeros in the weights; same storage dtype; tokenizer, tokenizer_config and generation_config
// copied), then prints each matrix's sparsity, each layer's and the total. --structured writes a
// smaller model of config SMALL instead (compress/structured_prune.h: whole layers, KV head groups and
// MLP channels by measured importance) and prints each layer's importance and what it kept.
// Calibration text is read as `baimo data prepare` reads a corpus (compress/calibration.h):
// --calib-tokens tokens in sequences of --seq (default 64 x 256). Every flag is checked before
// anything is written.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include "baimo/cli/command.h"
#include "baimo/cli/threads_flag.h"
#include "baimo/compress/calibration.h"
#include "baimo/compress/prune_model.h"
#include "baimo/compress/structured_prune.h"
#include "baimo/convert/gguf_tokenizer.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/util/error.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {

struct PruneArgs {
  std::string model, method, pattern, out, structured;
  double sparsity = 0;
  std::vector<std::string> calib, fields;
  int64_t calib_tokens = 64 * 256, seq = 256;
  int threads = 0;
  bool force = false;
};

// The checks every form shares: calibration sizes, the model directory, --out.
ModelConfig check_model_and_out(const PruneArgs& a) {
  namespace fs = std::filesystem;
  if (a.seq < 2) fail("--seq {}: need at least 2 tokens", a.seq);
  if (a.calib_tokens < a.seq) fail("--calib-tokens {}: need at least one sequence of --seq {}", a.calib_tokens, a.seq);
  if (!open_model(a.model).is_dir()) fail("--model {}: baimo prune reads a model directory (config.json + safetensors)", a.model);
  std::error_code ec;
  if (fs::equivalent(a.model, a.out, ec)) fail("--out {} is the input model directory; write the pruned model elsewhere", a.out);
  if (fs::exists(fs::path(a.out) / "model.safetensors") && !a.force)
    fail("{} already holds a model (model.safetensors); pass --force to overwrite it", a.out);
  const ModelConfig cfg = load_model_dir_config(a.model);
  if (a.seq > cfg.max_position_embeddings)
    fail("--seq {} exceeds the model's max_position_embeddings {}", a.seq, cfg.max_position_embeddings);
  return cfg;
}

std::vector<std::vector<int32_t>> read_calibration(const PruneArgs& a) {
  const Tokenizer tok = load_tokenizer(a.model);
  const int64_t count = a.calib_tokens / a.seq;
  std::vector<std::vector<int32_t>> calib = calibration_sequences(a.calib, a.fields, tok, count, a.seq);
  if (static_cast<int64_t>(calib.size()) < count)
    std::fprintf(stderr, "baimo prune: note: the calibration text gives %zu sequences of %lld tokens (asked %lld)\n",
                 calib.size(), static_cast<long long>(a.seq), static_cast<long long>(count));
  return calib;
}

void run_structured_prune(const PruneArgs& a) {
  if (a.calib.empty()) fail("--structured measures importance on calibration text: --calib FILE");
  const ModelConfig big = check_model_and_out(a);
  ModelConfig small = load_model_config(a.structured);
  small.bos_token_id = big.bos_token_id, small.eos_token_ids = big.eos_token_ids, small.pad_token_id = big.pad_token_id;
  check_structured_target(big, small);
  const std::vector<std::vector<int32_t>> calib = read_calibration(a);
  prepare_output_dir(a.out);

  const auto t0 = std::chrono::steady_clock::now();
  const auto params = read_model_dir_params(a.model, big);
  const StructureImportance imp = measure_structure_importance(big, params, calib);
  const StructuredPlan plan = plan_structured_prune(big, small, imp);
  save_derived_model_dir(a.out, small, apply_structured_prune(big, params, small, plan), a.model);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::printf("%-6s %10s %-5s KV groups kept (of %lld); MLP channels kept (of %lld)\n", "layer", "influence", "kept",
              static_cast<long long>(big.num_key_value_heads), static_cast<long long>(big.intermediate_size));
  size_t k = 0;
  for (int64_t l = 0; l < big.num_hidden_layers; ++l) {
    const bool kept = k < plan.layers.size() && plan.layers[k] == l;
    std::string groups;
    if (kept)
      for (int64_t g : plan.kv_groups[k]) groups += (groups.empty() ? "" : ",") + std::to_string(g);
    std::printf("%-6lld %10.4f %-5s %s\n", static_cast<long long>(l), imp.layer[static_cast<size_t>(l)],
                kept ? "yes" : "no", kept ? (groups + "; " + std::to_string(plan.channels[k].size())).c_str() : "-");
    k += kept;
  }
  std::printf("wrote %s: %.2fM -> %.2fM parameters, layers %lld -> %lld, heads %lld/%lld -> %lld/%lld, "
              "intermediate %lld -> %lld (%zux%lld calibration tokens, %.1f s)\n",
              a.out.c_str(), big.parameter_count() / 1e6, small.parameter_count() / 1e6,
              static_cast<long long>(big.num_hidden_layers), static_cast<long long>(small.num_hidden_layers),
              static_cast<long long>(big.num_attention_heads), static_cast<long long>(big.num_key_value_heads),
              static_cast<long long>(small.num_attention_heads), static_cast<long long>(small.num_key_value_heads),
              static_cast<long long>(big.intermediate_size), static_cast<long long>(small.intermediate_size),
              calib.size(), static_cast<long long>(a.seq), secs);
}

void run_prune(const PruneArgs& a, bool has_sparsity, bool has_pattern) {
  // Flags first: nothing is read or written before they are all valid.
  const PruneMethod method = parse_prune_method(a.method);
  if (has_sparsity == has_pattern) fail("give exactly one of --sparsity P (unstructured) or --pattern N:M");
  const PruneSpec spec = has_pattern ? parse_prune_pattern(a.pattern) : unstructured_prune_spec(a.sparsity);
  if (method == PruneMethod::Wanda && a.calib.empty()) fail("--method wanda needs calibration text: --calib FILE");
  if (method == PruneMethod::Magnitude && !a.calib.empty())
    fail("--calib is for --method wanda; magnitude pruning reads no calibration text");
  const ModelConfig cfg = check_model_and_out(a);
  check_prunable(cfg, spec);
  std::vector<std::vector<int32_t>> calib;
  if (method == PruneMethod::Wanda) calib = read_calibration(a);
  prepare_output_dir(a.out);

  const auto t0 = std::chrono::steady_clock::now();
  auto params = read_model_dir_params(a.model, cfg);
  const std::vector<PrunedMatrix> pruned = prune_model(cfg, params, method, spec, calib);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  save_derived_model_dir(a.out, cfg, params, a.model);

  std::printf("%-44s %12s %9s\n", "matrix", "shape", "sparsity");
  int64_t zeros = 0, numel = 0, layer_zeros = 0, layer_numel = 0;
  for (size_t i = 0; i < pruned.size(); ++i) {
    const PrunedMatrix& m = pruned[i];
    const std::string shape = std::to_string(m.rows) + "x" + std::to_string(m.cols);
    std::printf("%-44s %12s %8.2f%%\n", m.name.c_str(), shape.c_str(),
                100.0 * static_cast<double>(m.zeros) / static_cast<double>(m.rows * m.cols));
    layer_zeros += m.zeros, layer_numel += m.rows * m.cols;
    zeros += m.zeros, numel += m.rows * m.cols;
    if (i + 1 == pruned.size() || pruned[i + 1].layer != m.layer) {
      std::printf("%-44s %12s %8.2f%%\n", ("layer " + std::to_string(m.layer)).c_str(), "",
                  100.0 * static_cast<double>(layer_zeros) / static_cast<double>(layer_numel));
      layer_zeros = layer_numel = 0;
    }
  }
  std::printf("total: %.2f%% of the %lld block linear weights are zero (%.2f%% of all %lld parameters)\n",
              100.0 * static_cast<double>(zeros) / static_cast<double>(numel), static_cast<long long>(numel),
              100.0 * static_cast<double>(zeros) / static_cast<double>(cfg.parameter_count()),
              static_cast<long long>(cfg.parameter_count()));
  std::printf("wrote %s (%s %s%s, %.1f s)\n", a.out.c_str(), a.method.c_str(), spec.describe().c_str(),
              method == PruneMethod::Wanda
                  ? (", " + std::to_string(calib.size()) + "x" + std::to_string(a.seq) + " calibration tokens").c_str()
                  : "",
              secs);
}

BAIMO_COMMAND(64, [](CLI::App& root) {
  auto a = std::make_shared<PruneArgs>();
  auto* sub = root.add_subcommand("prune", "Prune a model: zero its low-scoring weights (magnitude or Wanda; unstructured or "
                                           "N:M), or remove layers, KV head groups and MLP channels (--structured)");
  sub->add_option("--model", a->model, "Model directory")->required();
  auto* method = sub->add_option("--method", a->method, "magnitude (|W|) or wanda (|W| * input norm over --calib text)");
  auto* structured = sub->add_option("--structured", a->structured,
                                     "config.json of a smaller model: remove layers, KV head groups and MLP channels "
                                     "by importance on --calib text");
  auto* sp = sub->add_option("--sparsity", a->sparsity, "Fraction of each row's weights to zero, in (0, 1)");
  auto* pat = sub->add_option("--pattern", a->pattern, "N:M: keep N of every M consecutive input weights (e.g. 2:4)");
  sub->add_option("--calib", a->calib, "Calibration text for wanda: files or directories (.txt/.md, .jsonl, .json)");
  sub->add_option("--field", a->fields, "JSON/JSONL field(s) holding the text (default: text)");
  sub->add_option("--calib-tokens", a->calib_tokens, "Calibration tokens (a multiple of --seq)")->capture_default_str();
  sub->add_option("--seq", a->seq, "Tokens per calibration sequence")->capture_default_str();
  sub->add_option("--out", a->out, "Model directory to write")->required();
  sub->add_flag("--force", a->force, "Overwrite a model already in --out");
  add_threads_flag(sub, a->threads);
  sub->callback([a, sp, pat, method, structured] {
    apply_threads(a->threads);
    if (structured->count() > 0) {
      if (method->count() > 0 || sp->count() > 0 || pat->count() > 0)
        fail("--structured removes whole layers, heads and channels; it takes no --method, --sparsity or --pattern");
      return run_structured_prune(*a);
    }
    if (method->count() == 0) fail("give --method magnitude|wanda (with --sparsity or --pattern), or --structured CONFIG");
    run_prune(*a, sp->count() > 0, pat->count() > 0);
  });
});

}  // namespace
}  // namespace baimo::cli
