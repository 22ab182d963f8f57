#include "baimo/cli/train_run.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "baimo/train/checkpoint.h"
#include "baimo/train/distributed.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/json_file.h"

namespace baimo::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

void add_run_flags(CLI::App* sub, const train::RunKeys& keys, RunFlags& flags) {
  sub->add_option("--run-config", flags.run_config,
                  "JSON object of settings (keys = flag names with '_'); flags override");
  for (const auto& k : keys) {
    std::string help = k.help;
    if (!k.default_value.is_null() && !(k.default_value.is_string() && k.default_value.get<std::string>().empty()))
      help += " (default " + k.default_value.dump() + ")";
    const std::string name = k.name;
    if (k.kind == train::KeyKind::Bool) {
      sub->add_flag_callback(train::flag_name(k), [&flags, name] { flags.given[name] = {"true"}; }, help);
      if (k.default_value == true)
        sub->add_flag_callback("--no-" + train::flag_name(k).substr(2), [&flags, name] { flags.given[name] = {"false"}; },
                               "Turn off " + train::flag_name(k));
    } else if (k.kind == train::KeyKind::List) {
      sub->add_option_function<std::vector<std::string>>(
          train::flag_name(k), [&flags, name](const std::vector<std::string>& v) { flags.given[name] = v; }, help);
    } else {
      sub->add_option_function<std::string>(
          train::flag_name(k), [&flags, name](const std::string& v) { flags.given[name] = {v}; }, help);
    }
  }
}

json merge_run_settings(const RunFlags& flags, const train::RunKeys& keys, std::string& where) {
  json merged = train::run_defaults(keys);
  where = "flags";
  auto given = [&](const char* k) { return flags.given.count(k) > 0; };
  auto value = [&](const char* k) { return flags.given.at(k).at(0); };
  const bool resume = given("resume") && value("resume") == "true";
  // --resume-from RUN/checkpoints/step_N without --out: the run is RUN.
  std::string out_dir = given("out") ? value("out") : "";
  if (!given("out") && given("resume_from"))
    out_dir = fs::absolute(value("resume_from") + "/.")
                  .lexically_normal().parent_path().parent_path().parent_path().string();
  std::string base = flags.run_config;
  if (base.empty() && (resume || given("resume_from")) && !out_dir.empty()) {
    std::string saved = (fs::path(out_dir) / "run_config.json").string();
    if (fs::exists(saved)) base = saved;
  }
  if (!base.empty()) {
    train::apply_run_config(merged, read_json_file(base), keys, base);
    where = base + " and flags";
  }
  for (const auto& k : keys)
    if (given(k.name)) train::apply_flag(merged, k, flags.given.at(k.name));
  if (!given("out") && given("resume_from")) merged["out"] = out_dir;
  return merged;
}

void check_fresh_or_resume(const std::string& out, bool resume) {
  if (!resume && !list_checkpoints(out).empty())
    fail("{} already holds checkpoints: pass --resume to continue that run, or choose another --out",
         (fs::path(out) / "checkpoints").string());
}

void join_ranks(train::TrainerOptions& o) {
  Comm& comm = Comm::world();
  o.rank = comm.rank();
  o.world = comm.size();
  if (!comm.distributed()) return;
  o.allreduce_mean = [&comm](float* p, size_t n) { comm.allreduce_mean(p, n); };
  o.allreduce_sum = [&comm](double* p, size_t n) { comm.allreduce_sum(p, n); };
  if (!comm.is_root() && !std::freopen("/dev/null", "w", stdout)) fail("cannot silence rank {}'s output", comm.rank());
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "-";
  long t = std::lround(s);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, t / 60 % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

std::string eval_summary(const train::Trainer& trainer, float loss,
                         const std::vector<std::pair<std::string, float>>& metrics) {
  std::string s = fmt::format("val_loss {:.4f}", loss);
  if (trainer.token_loss()) s += fmt::format(" ppl {:.2f}", std::exp(loss));
  for (const auto& [name, value] : metrics) s += fmt::format(" {} {:.4g}", name, value);
  return s;
}

void evaluate_before_training(train::Trainer& trainer) {
  std::vector<std::pair<std::string, float>> metrics;
  if (auto v = trainer.evaluate_before_training(&metrics))
    std::printf("eval step 0: %s (before training)\n", eval_summary(trainer, *v, metrics).c_str());
}

void run_with_progress(train::Trainer& trainer, int64_t steps) {
  if (trainer.step() >= steps) {
    std::printf("the run is already complete (%lld steps)\n", static_cast<long long>(trainer.step()));
    return;
  }
  const bool tty = ::isatty(1);
  bool line_open = false;
  auto end_line = [&] {
    if (line_open) std::printf("\n");
    line_open = false;
  };
  trainer.run([&](const train::StepMetrics& m) {
    std::string line = fmt::format("step {}/{} loss {:.4f} lr {:.2e} gnorm {:.3f} tok/s {:.0f} mfu {:.1f}%", m.step,
                                   steps, m.loss, m.lr, m.grad_norm, m.tokens_per_s, m.mfu * 100);
    for (const auto& [name, value] : m.metrics) line += fmt::format(" {} {:.4g}", name, value);
    line += " eta " + format_duration(m.eta_s);
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
      std::printf("eval step %lld: %s\n", static_cast<long long>(m.step),
                  eval_summary(trainer, m.val_loss, m.val_metrics).c_str());
    }
    std::fflush(stdout);
  });
  end_line();
}

}  // namespace baimo::cli
