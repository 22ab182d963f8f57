// baimo init --config CONFIG.json [--tokenizer tokenizer.json] --out DIR [--seed S] [--dtype f32|bf16|f16]
// Writes a randomly initialised model directory (model_dir.h). With a tokenizer, vocab_size and the
// bos / eos token ids come from it (tokenizer_vocab.h; ids it does not define are dropped from the
// config) and it is copied in as tokenizer.json.
#include <filesystem>

#include "baimo/cli/command.h"
#include "baimo/model/init.h"
#include "baimo/model/model_dir.h"
#include "baimo/tokenizer/json_vocab_summary.h"
#include "baimo/util/error.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {

struct InitArgs {
  std::string config, tokenizer, out, dtype = "f32";
  uint64_t seed = 0;
  bool force = false;
};

DType parse_storage_dtype(const std::string& s) {
  if (s == "f32") return DType::F32;
  if (s == "bf16") return DType::BF16;
  if (s == "f16") return DType::F16;
  fail("--dtype {}: expected f32, bf16 or f16", s);
}

void run_init(const InitArgs& a) {
  namespace fs = std::filesystem;
  ModelConfig cfg = load_model_config(a.config);
  if (!a.tokenizer.empty()) {
    TokenizerJsonSummary tok = tokenizer_json_summary(a.tokenizer);
    cfg.vocab_size = tok.vocab_size;
    cfg.bos_token_id = tok.bos_id;
    cfg.eos_token_ids = tok.eos_ids;
    cfg.validate(a.config + " (with vocab_size " + std::to_string(cfg.vocab_size) + " from " + a.tokenizer + ")");
    if (tok.eos_ids.empty())
      std::fprintf(stderr, "baimo init: note: %s defines no end-of-text token (<|endoftext|>, </s>, ...); "
                   "the model's config names none\n", a.tokenizer.c_str());
  }
  if (fs::exists(fs::path(a.out) / "model.safetensors") && !a.force)
    fail("{} already holds a model (model.safetensors); pass --force to overwrite it", a.out);
  prepare_output_dir(a.out);
  DType dtype = parse_storage_dtype(a.dtype);
  auto layout = param_layout(cfg);
  std::vector<std::vector<float>> values(layout.size());
  std::vector<SafetensorWrite> writes;
  for (size_t i = 0; i < layout.size(); ++i) {
    values[i].resize(static_cast<size_t>(layout[i].numel()));
    init_param(layout[i], cfg.initializer_range, a.seed, values[i]);
    writes.push_back({layout[i].name, layout[i].shape, values[i]});
  }
  ModelDirSave opts;
  opts.dtype = dtype;
  opts.tokenizer_json = a.tokenizer;
  save_model_dir(a.out, cfg, writes, opts);
  std::printf("wrote %s: %s, %.3fM parameters, vocab %lld, seed %llu\n", a.out.c_str(), cfg.architecture().c_str(),
              cfg.parameter_count() / 1e6, static_cast<long long>(cfg.vocab_size),
              static_cast<unsigned long long>(a.seed));
}

BAIMO_COMMAND(20, [](CLI::App& root) {
  auto a = std::make_shared<InitArgs>();
  auto* sub = root.add_subcommand("init", "Write a randomly initialised model directory from a config.json");
  sub->add_option("--config", a->config, "Hugging Face style config.json (Llama / Qwen2 / Mistral fields)")->required();
  sub->add_option("--tokenizer", a->tokenizer, "tokenizer.json: sets vocab_size and is copied into the model");
  sub->add_option("--out", a->out, "Model directory to write")->required();
  sub->add_option("--seed", a->seed, "Random seed (same seed, same weights)");
  sub->add_option("--dtype", a->dtype, "Storage type of model.safetensors: f32, bf16 or f16");
  sub->add_flag("--force", a->force, "Overwrite a model already in --out");
  sub->callback([a] { run_init(*a); });
});

}  // namespace
}  // namespace baimo::cli
