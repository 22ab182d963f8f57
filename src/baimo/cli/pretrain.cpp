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
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unordered_map>

#include <fmt/format.h>

#include "baimo/cli/command.h"
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

struct PretrainArgs {
  std::string run_config;
  std::map<std::string, std::string> values;  // key -> flag text
  std::map<std::string, CLI::Option*> options;
  bool resume_flag = false;
};

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "-";
  long t = std::lround(s);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, t / 60 % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

json read_json_file(const std::string& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", path, e.what());
  }
}

void run_pretrain(const PretrainArgs& a) {
  // Settings: defaults < run config < flags.
  json merged = train::pretrain_defaults();
  std::string where = "flags";
  std::string base = a.run_config;
  const bool out_given = a.options.at("out")->count() > 0;
  const bool from_given = a.options.at("resume_from")->count() > 0;
  // --resume-from RUN/checkpoints/step_N without --out: the run is RUN.
  std::string out_dir = out_given ? a.values.at("out") : "";
  if (!out_given && from_given)
    out_dir = fs::absolute(a.values.at("resume_from") + "/.").lexically_normal().parent_path().parent_path().parent_path().string();
  if (base.empty() && (a.resume_flag || from_given) && !out_dir.empty()) {
    std::string saved = (fs::path(out_dir) / "run_config.json").string();
    if (fs::exists(saved)) base = saved;
  }
  if (!base.empty()) {
    train::apply_run_config(merged, read_json_file(base), base);
    where = base + " and flags";
  }
  for (const auto& k : train::pretrain_keys()) {
    if (std::string(k.name) == "resume") continue;
    if (a.options.at(k.name)->count() > 0) train::apply_flag(merged, k, a.values.at(k.name));
  }
  if (a.resume_flag) merged["resume"] = true;
  if (!out_given && from_given) merged["out"] = out_dir;
  train::PretrainConfig cfg = train::parse_pretrain_config(merged, where);
  // Data parallel under mpirun (train/distributed.h): rank r trains on its rows of each global batch;
  // rank 0 alone prints, writes checkpoints, metrics and the final model.
  Comm& comm = Comm::world();
  cfg.train.rank = comm.rank();
  cfg.train.world = comm.size();
  if (comm.distributed()) {
    cfg.train.allreduce_mean = [&comm](float* p, size_t n) { comm.allreduce_mean(p, n); };
    cfg.train.allreduce_sum = [&comm](double* p, size_t n) { comm.allreduce_sum(p, n); };
    if (!comm.is_root() && !std::freopen("/dev/null", "w", stdout)) fail("cannot silence rank {}'s output", comm.rank());
  }

  if (cfg.threads > 0) {
    omp_set_num_threads(cfg.threads);
    openblas_set_num_threads(cfg.threads);
  }
  const std::string checkpoints = (fs::path(cfg.out) / "checkpoints").string();
  if (!cfg.resume && !list_checkpoints(cfg.out).empty())
    fail("{} already holds checkpoints: pass --resume to continue that run, or choose another --out", checkpoints);
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
              "%d threads, sgemm peak %.0f GFLOP/s, %.1f MFLOP/token\n",
              mc.parameter_count() / 1e6, static_cast<long long>(cfg.train.steps),
              static_cast<long long>(cfg.train.batch), static_cast<long long>(cfg.train.seq),
              static_cast<long long>(cfg.train.grad_accum),
              cfg.train.schedule == train::Schedule::Cosine ? "cosine" : "wsd", cfg.train.lr, cfg.train.min_lr,
              omp_get_max_threads(), cfg.train.peak_gflops, train::train_flops_per_token(mc, cfg.train.seq) / 1e6);
  std::fflush(stdout);

  const bool tty = ::isatty(1);
  bool line_open = false;
  auto end_line = [&] {
    if (line_open) std::printf("\n");
    line_open = false;
  };
  if (trainer.step() < cfg.train.steps) {
    trainer.run([&](const train::StepMetrics& m) {
      std::string line = fmt::format("step {}/{} loss {:.4f} lr {:.2e} gnorm {:.3f} tok/s {:.0f} mfu {:.1f}% eta {}",
                                     m.step, cfg.train.steps, m.loss, m.lr, m.grad_norm, m.tokens_per_s, m.mfu * 100,
                                     duration(m.eta_s));
      if (m.skipped || m.rolled_back) {
        end_line();
        if (m.rolled_back)
          std::printf("step %lld: update skipped (%s), rolled back to the last checkpoint (step %lld), data skipped\n",
                      static_cast<long long>(m.step), m.skip_reason.c_str(), static_cast<long long>(trainer.step()));
        else
          std::printf("step %lld: update skipped (%s: loss %g, grad norm %g)\n", static_cast<long long>(m.step),
                      m.skip_reason.c_str(), m.loss, m.grad_norm);
      } else if (tty) {
        std::printf("\r\033[K%s", line.c_str());
        line_open = true;
      } else {
        std::printf("%s\n", line.c_str());
      }
      if (m.has_val) {
        end_line();
        std::printf("eval step %lld: val_loss %.4f ppl %.2f\n", static_cast<long long>(m.step), m.val_loss,
                    std::exp(m.val_loss));
      }
      std::fflush(stdout);
    });
    end_line();
  } else {
    std::printf("the run is already complete (%lld steps)\n", static_cast<long long>(trainer.step()));
  }
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
  auto a = std::make_shared<PretrainArgs>();
  auto* sub = root.add_subcommand("pretrain", "Pretrain a model on token shards (checkpoints, exact resume, "
                                              "spike guard, cosine/wsd schedule)");
  sub->add_option("--run-config", a->run_config, "JSON object of settings (keys = flag names with '_'); flags override");
  for (const auto& k : train::pretrain_keys()) {
    std::string help = k.help;
    if (!k.default_value.is_null() && !(k.default_value.is_string() && k.default_value.get<std::string>().empty()))
      help += " (default " + k.default_value.dump() + ")";
    if (k.kind == train::KeyKind::Bool)
      a->options[k.name] = sub->add_flag(train::flag_name(k), a->resume_flag, help);
    else
      a->options[k.name] = sub->add_option(train::flag_name(k), a->values[k.name], help);
  }
  sub->callback([a] { run_pretrain(*a); });
});

}  // namespace baimo::cli
