// Trainer's persistent side: trainer_state.json, checkpoints of named modules, resume, rollback,
// metrics.jsonl.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "baimo/train/checkpoint.h"
#include "baimo/train/trainer.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::train {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// v2: the objective's state under "objective", the module names under "modules". v1 (LmTrainer before
// the Trainer over objectives) kept the LM sampler under "rng"; it still resumes.
constexpr const char* kStateFormat = "baimo-trainer-state-v2";
constexpr const char* kStateFormatV1 = "baimo-trainer-state-v1";

// The trainer's options that shape the trajectory: a resumed run must use the same values.
json trajectory_options(const TrainerOptions& o) {
  return {{"steps", o.steps},
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

std::vector<CheckpointModule> Trainer::checkpoint_modules() const {
  std::vector<CheckpointModule> out;
  for (size_t i = 0; i < modules_.size(); ++i)
    out.push_back({modules_[i].name, modules_[i].params, opts_per_module_[i].get(), modules_[i].save_dir,
                   modules_[i].load_dir});
  return out;
}

json Trainer::state_json() const {
  json options = trajectory_options(opts_);
  const json objective_options = obj_.trajectory();
  for (const auto& [key, value] : objective_options.items()) options[key] = value;
  return {{"format", kStateFormat},
          {"step", step_},
          {"optimizer_step", optimizer(0).steps()},
          {"objective", obj_.state()},
          {"tokens_seen", static_cast<double>(step_) * obj_.tokens_per_micro_batch() * opts_.grad_accum},
          {"rollbacks", rollbacks_},
          {"spike_guard", guard_.to_json()},
          {"options", options},
          {"run_config", opts_.run_config}};
}

void Trainer::check_trajectory(const json& saved, int64_t step, const std::string& where) const {
  json now = trajectory_options(opts_);
  const json objective_options = obj_.trajectory();
  for (const auto& [key, value] : objective_options.items()) now[key] = value;
  for (const auto& [key, value] : now.items()) {
    if (!saved.contains(key)) fail("{}: field \"options.{}\" missing", where, key);
    if (saved[key] == value) continue;
    if (key == "steps" && saved[key].is_number_integer()) {
      // wsd: the schedule up to `step` is warmup + stable for both lengths while step is before both decays.
      TrainerOptions before = opts_;
      before.steps = saved[key].get<int64_t>();
      if (opts_.schedule == Schedule::Wsd && before.warmup <= before.steps && step <= decay_start(before) &&
          step <= decay_start(opts_))
        continue;
      const std::string why =
          opts_.schedule != Schedule::Wsd
              ? std::string("the cosine schedule depends on it at every step")
              : fmt::format("step {} is past the start of the decay (step {} of the checkpoint's run, {} now)", step,
                            decay_start(before), decay_start(opts_));
      fail("{}: option \"steps\" is {} in the checkpoint but {} now: {}; only a wsd run still in its stable "
           "phase can change its length", where, saved[key].dump(), value.dump(), why);
    }
    fail("{}: option \"{}\" is {} in the checkpoint but {} now; a resumed run must keep it", where, key,
         saved[key].dump(), value.dump());
  }
}

void Trainer::restore_state(const json& s, const std::string& where, bool rollback, json* note) {
  const bool v1 = s.contains("format") && s["format"] == kStateFormatV1;
  if (!s.contains("format") || (s["format"] != kStateFormat && !v1))
    fail("{}: field \"format\" must be \"{}\"", where, kStateFormat);
  if (!s.contains("options") || !s["options"].is_object()) fail("{}: field \"options\" missing", where);
  const int64_t step = get_count(s, "step", where);
  check_trajectory(s["options"], step, where);
  if (step > opts_.steps) fail("{}: field \"step\" {} is beyond the run's {} steps", where, step, opts_.steps);
  const int64_t opt_step = get_count(s, "optimizer_step", where);
  for (const auto& opt : opts_per_module_)
    if (opt && opt->steps() != opt_step)
      fail("{}: field \"optimizer_step\" {} differs from optimizer.safetensors' step {}", where, opt_step,
           opt->steps());
  const char* objective_key = v1 ? "rng" : "objective";
  if (!s.contains(objective_key) || !s[objective_key].is_object())
    fail("{}: field \"{}\" missing", where, objective_key);
  if (!s.contains("spike_guard")) fail("{}: field \"spike_guard\" missing", where);
  guard_.from_json(s["spike_guard"], where);
  rollbacks_ = get_count(s, "rollbacks", where);
  step_ = step;
  json n = obj_.restore(s[objective_key], where, rollback);
  if (note) *note = n;
}

std::string Trainer::save_checkpoint_now() {
  if (!is_root() || opts_.out_dir.empty()) return "";
  std::vector<CheckpointModule> modules = checkpoint_modules();
  std::string path = save_checkpoint(opts_.out_dir, step_, modules, state_json());
  prune_checkpoints(opts_.out_dir, opts_.keep);
  return path;
}

std::optional<int64_t> Trainer::resume(const std::string& from) {
  if (opts_.out_dir.empty()) fail("resume needs an output directory");
  if (is_root()) clean_checkpoint_temps(opts_.out_dir);
  std::optional<CheckpointRef> chosen;
  if (!from.empty()) {
    auto step = checkpoint_step(from);
    if (!step || !fs::is_directory(from)) fail("{}: not a checkpoint directory (expected .../step_NNNNNNN)", from);
    chosen = CheckpointRef{*step, from};
  } else {
    chosen = latest_checkpoint(opts_.out_dir);
  }
  if (!chosen) {
    open_metrics(std::nullopt);
    return std::nullopt;
  }
  std::vector<CheckpointModule> modules = checkpoint_modules();
  json state = load_checkpoint(chosen->path, modules);
  restore_state(state, (fs::path(chosen->path) / "trainer_state.json").string(), false, nullptr);
  // A chosen older checkpoint: the later ones would be rollback targets from the future.
  if (!from.empty() && is_root()) remove_checkpoints_after(opts_.out_dir, step_);
  resumed_ = true;
  open_metrics(step_);
  return step_;
}

void Trainer::rollback(StepMetrics& m) {
  if (opts_.out_dir.empty()) fail("spike guard: {} rejected steps in a row and no checkpoint to roll back to", m.step);
  auto latest = latest_checkpoint(opts_.out_dir);
  if (!latest) fail("spike guard: {} rejected steps in a row and no checkpoint in {}", m.step, opts_.out_dir);
  const int64_t from = step_, rollbacks = rollbacks_ + 1;
  std::vector<CheckpointModule> modules = checkpoint_modules();
  json state = load_checkpoint(latest->path, modules);
  json note;
  restore_state(state, (fs::path(latest->path) / "trainer_state.json").string(), true, &note);
  rollbacks_ = rollbacks;
  std::string extra;
  if (note.is_object())
    for (const auto& [key, value] : note.items()) extra += fmt::format(R"("{}": {}, )", key, value.dump());
  write_metrics_line(fmt::format(R"({{"event": "rollback", "step": {}, "to_step": {}, "checkpoint": "{}", {})"
                                 R"("rollbacks": {}}})",
                                 from, step_, fs::path(latest->path).filename().string(), extra, rollbacks_));
  if (rollbacks_ > opts_.max_rollbacks)
    fail("spike guard: {} rollbacks, more than the allowed {} (the data or the learning rate needs a look)",
         rollbacks_, opts_.max_rollbacks);
  m.rolled_back = true;
}

// Fresh run: truncate. Resume at step k: keep the complete lines of steps <= k, drop the rest
// (they will be written again, identically).
void Trainer::open_metrics(std::optional<int64_t> keep_through_step) {
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
  if (metrics_) std::fclose(metrics_);
  write_file_atomic(path, kept);
  metrics_ = std::fopen(path.c_str(), "a");
  if (!metrics_) fail("cannot append to {}", path);
}

void Trainer::write_metrics_line(const std::string& line) {
  if (!metrics_) return;
  std::fputs(line.c_str(), metrics_);
  std::fputc('\n', metrics_);
  std::fflush(metrics_);
}

}  // namespace baimo::train
