// baimo recipe [--config recipe.json] [--out DIR] [--model DIR] [--corpus FILE...] [--skip STAGE,...]
//              [--restart-from STAGE] [--threads N] [--seed S]
// baimo recipe report DIR
// The whole recipe in one command (recipe/recipe_plan.h lists the stages and the config): each stage
// runs as `baimo <command>` in a child process, is evaluated, and the report card DIR/report.md (+ .json)
// is written at the end. Run it again with the same --out after a kill: it picks up at the stage and
// step where it stopped (the config saved in DIR/recipe.json is used when --config is not given).
// `recipe report DIR` rebuilds the report card from what DIR holds.
// Before anything runs, every stage's flags are checked against its command's flags (an unknown one is
// an error naming the config section).
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "baimo/cli/command.h"
#include "baimo/recipe/recipe_report.h"
#include "baimo/recipe/recipe_runner.h"
#include "baimo/util/error.h"
#include "baimo/util/json_file.h"

namespace baimo::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct RecipeArgs {
  std::string config, out = "runs/recipe", model, restart_from, report_dir;
  std::vector<std::string> corpus, skip;
  int threads = 0;
  int64_t seed = -1;
};

json read_config(const std::string& path) {
  if (path.ends_with(".toml")) fail("{}: write the recipe config as JSON (recipe.json); TOML is not read", path);
  return read_json_file(path);
}

// Every flag a stage passes must be one its command takes (checked on this program's own command tree).
void check_flags(const recipe::Plan& plan) {
  CLI::App app;
  register_all(app);
  auto check = [&](const recipe::Command& c) {
    CLI::App* sub = &app;
    for (const auto& name : c.sub) sub = sub->get_subcommand(name);
    for (const auto& [flag, values] : c.flags)
      if (!sub->get_option_no_throw(flag))
        fail("recipe config: \"{}\": `baimo {}` has no flag {}", c.section, fmt::format("{}", fmt::join(c.sub, " ")), flag);
  };
  for (const auto& s : plan.stages)
    for (const auto& c : s.commands) check(c);
  check(plan.eval);
}

std::string self_program() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) fail("cannot find this program's path (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

json effective_config(const RecipeArgs& a) {
  const std::string saved = (fs::path(a.out) / "recipe.json").string();
  json c = !a.config.empty() ? read_config(a.config) : fs::exists(saved) ? read_config(saved) : json::object();
  if (!c.is_object()) fail("{}: the recipe config must be a JSON object", a.config.empty() ? saved : a.config);
  if (!a.model.empty()) c["model"] = a.model;
  if (!a.corpus.empty()) c["corpus"] = a.corpus;
  if (a.seed >= 0) c["seed"] = a.seed;
  for (const auto& s : a.skip) {
    if (std::find(recipe::stage_names().begin(), recipe::stage_names().end(), s) == recipe::stage_names().end())
      fail("--skip {}: not a stage (stages: {})", s, fmt::format("{}", fmt::join(recipe::stage_names(), ", ")));
    c[s]["skip"] = true;
  }
  return c;
}

void run(const RecipeArgs& a) {
  const recipe::Plan plan = recipe::make_plan(effective_config(a), a.out, BAIMO_SOURCE_DIR);
  check_flags(plan);
  if (a.threads > 0) ::setenv("OMP_NUM_THREADS", std::to_string(a.threads).c_str(), 1);
  recipe::run_recipe(plan, {self_program(), a.restart_from});
}

void report(const std::string& dir) {
  const std::string saved = (fs::path(dir) / "recipe.json").string();
  if (!fs::exists(saved)) fail("{}: not a recipe directory (no recipe.json)", dir);
  const recipe::Plan plan = recipe::make_plan(read_config(saved), dir, BAIMO_SOURCE_DIR);
  const recipe::ReportFiles f = recipe::write_report(plan);
  std::printf("%s\n%s\n", f.markdown.c_str(), f.json.c_str());
}

}  // namespace

BAIMO_COMMAND(2, [](CLI::App& root) {
  auto a = std::make_shared<RecipeArgs>();
  auto* sub = root.add_subcommand(
      "recipe",
      "The whole recipe: tokenizer, data, pretraining, SFT, reward model, DPO, GRPO, distillation, quantization, "
      "evaluation after every stage and a served model, with a report card (DIR/report.md)");
  sub->add_option("--config", a->config, "Recipe config (JSON): stages' flags, your own files, skips; see docs/guide.md");
  sub->add_option("--out", a->out, "Recipe directory (resumes the run already there)")->capture_default_str();
  sub->add_option("--model", a->model, "Start from this model directory: no tokenizer, shards or pretraining");
  sub->add_option("--corpus", a->corpus, "Your own text for the tokenizer and pretraining (files or directories)")
      ->expected(1, -1);
  sub->add_option("--skip", a->skip, "Stages to skip, comma-separated")->delimiter(',');
  sub->add_option("--restart-from", a->restart_from, "Redo this stage and every later one (e.g. after changing the config)");
  sub->add_option("--threads", a->threads, "Threads of every stage (default: $OMP_NUM_THREADS, else one per core)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--seed", a->seed, "Seed of every stage (default 1)")->check(CLI::NonNegativeNumber);
  auto* rep = sub->add_subcommand("report", "Rebuild DIR/report.md and report.json from what the recipe directory holds");
  rep->add_option("dir", a->report_dir, "Recipe directory")->required();
  rep->callback([a] { report(a->report_dir); });
  sub->require_subcommand(0, 1);
  sub->callback([a, rep] {
    if (!rep->parsed()) run(*a);
  });
});

}  // namespace baimo::cli
