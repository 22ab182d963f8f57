// LmTrainer's persistent side: trainer_state.json, checkpoints, resume, rollback, metrics.jsonl.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "baimo/train/checkpoint.h"
#include "baimo/train/lm_trainer.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kStateFormat = "baimo-trainer-state-v1";

// The options that shape the trajectory: a resumed run must use the same values.
json trajectory_options(const LmTrainOptions& o) {
  return {{"steps", o.steps},
          {"batch", o.batch},
          {"seq", o.seq},
          {"grad_accum", o.grad_accum},
          {"lr", o.lr},
          {"min_lr", o.min_lr},
          {"warmup", o.warmup},
          {"schedule", o.schedule == Schedule::Cosine ? "cosine" : "wsd"},
          {"decay_fraction", o.decay_fraction},
          {"weight_decay", o.weight_decay},
          {"clip", o.clip},
          {"beta1", o.beta1},
          {"beta2", o.beta2},
          {"seed", o.seed},
          {"spike_factor", o.spike.factor},
          {"spike_patience", o.spike.patience},
          {"spike_warmup", o.spike.warmup},
          {"spike_ema", o.spike.ema},
          {"world", o.world}};
}

int64_t get_count(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 0)
    fail("{}: field \"{}\" missing or not a non-negative integer", where, key);
  return j[key].get<int64_t>();
}

}  // namespace

json LmTrainer::state_json() const {
  return {{"format", kStateFormat},
          {"step", step_},
          {"optimizer_step", opt_->steps()},
          {"rng", {{"sampler_seed", opts_.seed}, {"sampler_position", sampler_->position()}}},
          {"tokens_seen", step_ * opts_.batch * opts_.seq * opts_.grad_accum},
          {"rollbacks", rollbacks_},
          {"spike_guard", guard_.to_json()},
          {"options", trajectory_options(opts_)},
          {"run_config", opts_.run_config}};
}

void LmTrainer::restore_state(const json& s, const std::string& where, bool keep_sampler) {
  if (!s.contains("format") || s["format"] != kStateFormat)
    fail("{}: field \"format\" must be \"{}\"", where, kStateFormat);
  if (!s.contains("options") || !s["options"].is_object()) fail("{}: field \"options\" missing", where);
  const json now = trajectory_options(opts_);
  for (const auto& [key, value] : now.items()) {
    if (!s["options"].contains(key)) fail("{}: field \"options.{}\" missing", where, key);
    if (s["options"][key] != value)
      fail("{}: option \"{}\" is {} in the checkpoint but {} now; a resumed run must keep it", where, key,
           s["options"][key].dump(), value.dump());
  }
  const int64_t step = get_count(s, "step", where);
  if (step > opts_.steps) fail("{}: field \"step\" {} is beyond the run's {} steps", where, step, opts_.steps);
  if (get_count(s, "optimizer_step", where) != opt_->steps())
    fail("{}: field \"optimizer_step\" {} differs from optimizer.safetensors' step {}", where,
         s["optimizer_step"].get<int64_t>(), opt_->steps());
  if (!s.contains("rng") || !s["rng"].is_object()) fail("{}: field \"rng\" missing", where);
  const uint64_t position = static_cast<uint64_t>(get_count(s["rng"], "sampler_position", where));
  if (!s.contains("spike_guard")) fail("{}: field \"spike_guard\" missing", where);
  guard_.from_json(s["spike_guard"], where);
  rollbacks_ = get_count(s, "rollbacks", where);
  step_ = step;
  if (!keep_sampler) sampler_->set_position(position);
}

std::string LmTrainer::save_checkpoint_now() {
  if (!is_root() || opts_.out_dir.empty()) return "";
  ModelDirSave mopts;
  mopts.tokenizer_json = opts_.tokenizer_json;
  std::string path = save_checkpoint(opts_.out_dir, step_, model_, *opt_, state_json(), mopts);
  prune_checkpoints(opts_.out_dir, opts_.keep);
  return path;
}

std::optional<int64_t> LmTrainer::resume() {
  if (opts_.out_dir.empty()) fail("resume needs an output directory");
  if (is_root()) clean_checkpoint_temps(opts_.out_dir);
  auto latest = latest_checkpoint(opts_.out_dir);
  if (!latest) {
    open_metrics(std::nullopt);
    return std::nullopt;
  }
  json state = load_checkpoint(latest->path, model_, *opt_);
  restore_state(state, (fs::path(latest->path) / "trainer_state.json").string(), false);
  resumed_ = true;
  open_metrics(step_);
  return step_;
}

void LmTrainer::rollback(StepMetrics& m) {
  if (opts_.out_dir.empty()) fail("spike guard: {} rejected steps in a row and no checkpoint to roll back to", m.step);
  auto latest = latest_checkpoint(opts_.out_dir);
  if (!latest) fail("spike guard: {} rejected steps in a row and no checkpoint in {}", m.step, opts_.out_dir);
  const int64_t from = step_, rollbacks = rollbacks_ + 1;
  const uint64_t position = sampler_->position();
  json state = load_checkpoint(latest->path, model_, *opt_);
  restore_state(state, (fs::path(latest->path) / "trainer_state.json").string(), true);
  const uint64_t skipped_from = state["rng"]["sampler_position"].get<uint64_t>();
  rollbacks_ = rollbacks;
  write_metrics_line(fmt::format(R"({{"event": "rollback", "step": {}, "to_step": {}, "checkpoint": "{}", )"
                                 R"("skipped_windows": [{}, {}], "rollbacks": {}}})",
                                 from, step_, fs::path(latest->path).filename().string(), skipped_from, position,
                                 rollbacks_));
  if (rollbacks_ > opts_.max_rollbacks)
    fail("spike guard: {} rollbacks, more than the allowed {} (the data or the learning rate needs a look)",
         rollbacks_, opts_.max_rollbacks);
  m.rolled_back = true;
}

// Fresh run: truncate. Resume at step k: keep the complete lines of steps <= k, drop the rest
// (they will be written again, identically).
void LmTrainer::open_metrics(std::optional<int64_t> keep_through_step) {
  metrics_opened_ = true;
  if (!is_root() || opts_.out_dir.empty()) return;
  fs::create_directories(opts_.out_dir);
  const std::string path = (fs::path(opts_.out_dir) / "metrics.jsonl").string();
  std::string kept;
  if (keep_through_step && fs::exists(path)) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) continue;
      if (j["step"].get<int64_t>() <= *keep_through_step) kept += line + "\n";
    }
  }
  write_file_atomic(path, kept);
  metrics_ = std::fopen(path.c_str(), "a");
  if (!metrics_) fail("cannot append to {}", path);
}

void LmTrainer::write_metrics_line(const std::string& line) {
  if (!metrics_) return;
  std::fputs(line.c_str(), metrics_);
  std::fputc('\n', metrics_);
  std::fflush(metrics_);
}

}  // namespace baimo::train
