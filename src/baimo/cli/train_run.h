// What every training command (`pretrain`, `sft`, and the stages after them) shares on the command line:
//   - add_run_flags: one flag per key of a train/run_config.h table, plus --run-config FILE;
//     a Bool key is a flag (--lora) and, when its default is true, also --no-<name>.
//   - merge_run_settings: defaults < run config (--run-config, or with --resume / --resume-from and no
//     --run-config the run's own OUT/run_config.json) < flags; --resume-from without --out resumes the
//     run that holds the checkpoint. `where` names the sources for error messages.
//   - join_ranks: data parallel under mpirun (train/distributed.h): rank/world and the all-reduce hooks
//     in the options; ranks other than 0 print nothing.
//   - run_with_progress: runs the Trainer, one progress line per step (redrawn in place on a terminal),
//     a line for every skipped update, rollback and evaluation.
#pragma once
#include <map>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "baimo/train/run_config.h"
#include "baimo/train/trainer.h"

namespace baimo::cli {

struct RunFlags {
  std::string run_config;
  std::map<std::string, std::vector<std::string>> given;  // key -> flag values, only for flags on the command line
};

void add_run_flags(CLI::App* sub, const train::RunKeys& keys, RunFlags& flags);
nlohmann::json merge_run_settings(const RunFlags& flags, const train::RunKeys& keys, std::string& where);
// Fails when out holds checkpoints and the run does not resume.
void check_fresh_or_resume(const std::string& out, bool resume);
void join_ranks(train::TrainerOptions& o);
// Runs to completion (or prints that the run is complete); `name` prefixes nothing, it is the command.
void run_with_progress(train::Trainer& trainer, int64_t steps);
// "val_loss 0.6931 [ppl 2.00] accuracy 0.5 ...": an evaluation's loss and named metrics.
std::string eval_summary(const train::Trainer& trainer, float loss,
                         const std::vector<std::pair<std::string, float>>& metrics);
// Prints the held-out evaluation of the model before any update ("eval step 0: ...").
void evaluate_before_training(train::Trainer& trainer);
// "1h02m", "3m05s", "12s"; "-" when unknown.
std::string format_duration(double seconds);

}  // namespace baimo::cli
