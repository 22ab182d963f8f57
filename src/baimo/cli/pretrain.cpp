// baimo pretrain --config CONFIG.json --data DIR --out DIR [--run-config FILE.json] [--resume] [--init DIR]
//                [--resume-from OUT/checkpoints/step_N]
//                [--steps --batch --seq --grad-accum --lr --min-lr --warmup --schedule cosine|wsd ...]
// Pretrains a model on token shards (data/token_shards.h) with LmTrainer (train/lm_trainer.h: the
// Trainer over the LM objective). Settings come from train/pretrain_config.h's table: defaults <
// --run-config file (or, with --resume / --resume-from and no --run-config, OUT/run_config.json) <
// flags; --resume-from without --out resumes the run that holds the checkpoint. The model's bos / eos
// token ids come from the tokenizer (the data's tokenizer.json, else the --init model's): a config
// that names others is corrected with a note on stderr. Prints a progress line per step (redrawn in
// place on a terminal, one plain line each otherwise), eval lines with the validation loss and
// perplexity; writes OUT/run_config.json (absolute paths), OUT/metrics.jsonl, OUT/checkpoints/step_N
// and the final model to OUT/final (with the tokenizer.json when there is one).
#include <cblas.h>
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unordered_map>

#include <fmt/format.h>

#include "baimo/cli/command.h"
#include "baimo/cli/train_run.h"
#include "baimo/compress/zero_mask.h"
#include "baimo/data/token_shards.h"
#include "baimo/train/checkpoint.h"
#include "baimo/model/tokenizer_specials.h"
#include "baimo/model/transformer.h"
#include "baimo/tokenizer/json_vocab_summary.h"
#include "baimo/train/distributed.h"
#include "baimo/train/lm_trainer.h"
#include "baimo/train/mfu.h"
#include "baimo/train/pretrain_config.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

void run_pretrain(const RunFlags& flags) {
  std::string where;
  json merged = merge_run_settings(flags, train::pretrain_keys(), where);
  train::PretrainConfig cfg = train::parse_pretrain_config(merged, where);
  join_ranks(cfg.train);
  Comm& comm = Comm::world();

  if (cfg.threads > 0) {
    omp_set_num_threads(cfg.threads);
    openblas_set_num_threads(cfg.threads);
  }
  const std::string checkpoints = (fs::path(cfg.out) / "checkpoints").string();
  check_fresh_or_resume(cfg.out, cfg.resume);
  comm.barrier();  // every rank has looked before rank 0 writes its first checkpoint

  // The tokenizer: the data's, else the --init model's. Its special tokens name bos / eos (issue 11).
  std::string tokenizer = (fs::path(cfg.data) / "tokenizer.json").string();
  if (!fs::exists(tokenizer)) tokenizer = cfg.init.empty() ? "" : model_dir_tokenizer(cfg.init);
  cfg.train.tokenizer_json = tokenizer;
  auto take_specials = [&](ModelConfig& mc, const std::string& where) {
    if (tokenizer.empty()) return;
    for (const auto& note : take_tokenizer_specials(mc, tokenizer_json_summary(tokenizer), where, tokenizer))
      if (comm.is_root()) std::fprintf(stderr, "baimo pretrain: note: %s\n", note.c_str());
  };

  // Model: --init DIR, or --config (random init by seed). A resume overwrites the weights.
  std::optional<Transformer> model;
  if (!cfg.init.empty()) {
    ModelConfig mc = load_model_dir_config(cfg.init);
    if (!cfg.config.empty() && model_config_to_json(load_model_config(cfg.config)) != model_config_to_json(mc))
      fail("--config {} differs from the config of --init {}; give only one", cfg.config, cfg.init);
    take_specials(mc, (fs::path(cfg.init) / "config.json").string());
    model.emplace(mc);
    std::unordered_map<std::string, float*> dest;
    for (const auto& p : model->params()) dest[p.spec.name] = p.var.node()->value.data<float>();
    read_model_dir_tensors(cfg.init, mc, [&](const ParamSpec& spec) {
      return std::span<float>(dest.at(spec.name), static_cast<size_t>(spec.numel()));
    });
  } else {
    if (cfg.config.empty()) fail("{}: \"config\" (--config CONFIG.json) or \"init\" (--init DIR) is required", where);
    ModelConfig mc = load_model_config(cfg.config);
    take_specials(mc, cfg.config);
    model.emplace(Transformer::random(mc, cfg.train.seed));
  }

  ShardIndex index = ShardIndex::load(cfg.data);
  TokenDataset train_data(cfg.data, "train");
  std::optional<TokenDataset> val_data;
  if (index.splits.count("val") && index.splits.at("val").tokens > static_cast<uint64_t>(cfg.train.seq))
    val_data.emplace(cfg.data, "val");

  if (cfg.train.peak_gflops == 0) cfg.train.peak_gflops = train::measure_sgemm_peak_gflops();
  const bool root = cfg.train.rank == 0;
  prepare_output_dir(cfg.out);
  // Saved with absolute paths (a resume from any directory finds config, data and init), without the
  // one-off choice of a checkpoint to resume from.
  json saved = train::absolute_paths(cfg.merged);
  saved["resume_from"] = "";
  cfg.train.run_config = saved;
  if (root) write_file_atomic((fs::path(cfg.out) / "run_config.json").string(), saved.dump(2) + "\n");

  model->set_grad_checkpoint(cfg.grad_checkpoint);
  keep_pruned_zeros(*model, cfg.train, "pretrain");
  train::LmTrainer trainer(*model, train_data, val_data ? &*val_data : nullptr, cfg.train);
  if (cfg.resume) {
    if (auto step = trainer.resume(cfg.resume_from))
      std::printf("resumed from %s at step %lld\n",
                  cfg.resume_from.empty() ? (fs::path(checkpoints) / checkpoint_name(*step)).c_str()
                                          : cfg.resume_from.c_str(),
                  static_cast<long long>(*step));
    else
      std::printf("no checkpoint in %s: starting fresh\n", checkpoints.c_str());
  }
  const ModelConfig& mc = model->config();
  std::printf("pretrain: %.2fM parameters, %lld steps of %lld x %lld x %lld tokens, %s schedule, lr %g -> %g, "
              "%d threads, sgemm peak %.0f GFLOP/s, %.1f MFLOP/token%s\n",
              mc.parameter_count() / 1e6, static_cast<long long>(cfg.train.steps),
              static_cast<long long>(cfg.train.batch), static_cast<long long>(cfg.train.seq),
              static_cast<long long>(cfg.train.grad_accum),
              cfg.train.schedule == train::Schedule::Cosine ? "cosine" : "wsd", cfg.train.lr, cfg.train.min_lr,
              omp_get_max_threads(), cfg.train.peak_gflops, train::train_flops_per_token(mc, cfg.train.seq) / 1e6,
              cfg.grad_checkpoint ? ", grad checkpointing" : "");
  std::fflush(stdout);

  run_with_progress(trainer.trainer(), cfg.train.steps);
  if (root) {
    ModelDirSave save;
    save.tokenizer_json = tokenizer;
    std::string final_dir = (fs::path(cfg.out) / "final").string();
    model->save(final_dir, save);
    std::printf("final model -> %s\n", final_dir.c_str());
  }
}

}  // namespace

BAIMO_COMMAND(40, [](CLI::App& root) {
  auto flags = std::make_shared<RunFlags>();
  auto* sub = root.add_subcommand("pretrain", "Pretrain a model on token shards (checkpoints, exact resume, "
                                              "spike guard, cosine/wsd schedule)");
  add_run_flags(sub, train::pretrain_keys(), *flags);
  sub->callback([flags] { run_pretrain(*flags); });
});

}  // namespace baimo::cli
