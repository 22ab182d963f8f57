#include "baimo/recipe/recipe_plan.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "baimo/util/error.h"

namespace baimo::recipe {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> s{"tokenizer", "data",   "task",    "init",    "pretrain", "sft",
                                          "rm",        "dpo",    "grpo",    "ppo",     "student",  "distill",
                                          "quantize",  "eval",   "serve"};
  return s;
}

std::string path_in(const std::string& dir, const std::string& rel) { return (fs::path(dir) / rel).string(); }

// "max_len" / "max-len" / "--max-len" -> "--max-len".
std::string flag_of(std::string key) {
  if (key.starts_with("--")) key = key.substr(2);
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

std::string scalar_text(const json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  fail("{}: expected a string or a number, got {}", where, v.dump());
}

void set_flag(Flags& flags, const std::string& name, std::vector<std::string> values) {
  for (auto& f : flags)
    if (f.first == name) {
      f.second = std::move(values);
      return;
    }
  flags.emplace_back(name, std::move(values));
}

void drop_flag(Flags& flags, const std::string& name) {
  std::erase_if(flags, [&](const auto& f) { return f.first == name; });
}

// Reads a config section over a command's default flags. Reserved keys ("skip", "prompts") are left to
// the caller.
void apply_section(Command& c, const json& section, const std::string& where) {
  for (const auto& [key, v] : section.items()) {
    if (key == "skip" || key == "prompts") continue;
    const std::string name = flag_of(key), at = fmt::format("{}.{}", where, key);
    if (v.is_null()) {
      drop_flag(c.flags, name);
    } else if (v.is_boolean()) {
      drop_flag(c.flags, name);
      drop_flag(c.flags, "--no-" + name.substr(2));
      set_flag(c.flags, v.get<bool>() ? name : "--no-" + name.substr(2), {});
    } else if (v.is_array()) {
      std::vector<std::string> values;
      for (size_t i = 0; i < v.size(); ++i) values.push_back(scalar_text(v[i], fmt::format("{}[{}]", at, i)));
      if (values.empty()) fail("{}: an empty list (use null to drop the flag)", at);
      set_flag(c.flags, name, std::move(values));
    } else {
      set_flag(c.flags, name, {scalar_text(v, at)});
    }
  }
}

std::vector<std::string> string_list(const json& v, const std::string& where) {
  std::vector<std::string> out;
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array() || v.empty()) fail("{}: expected a path or a non-empty list of paths", where);
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) fail("{}[{}]: expected a string, got {}", where, i, v[i].dump());
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

std::vector<std::string> default_corpus(const std::string& source_dir) {
  std::vector<std::string> found;
  for (const char* rel : {"docs/guide.md", "docs/guide.zh.md", "README.md"})
    if (fs::exists(fs::path(source_dir) / rel)) found.push_back(path_in(source_dir, rel));
  return found;
}

Stage new_stage(const std::string& name, bool skip) {
  Stage s;
  s.name = name;
  s.skip = skip;
  return s;
}

class Builder {
 public:
  Builder(const json& config, const std::string& out, const std::string& source_dir)
      : cfg_(config), out_(out), src_(source_dir) {
    if (!cfg_.is_object()) fail("recipe config: expected a JSON object, got {}", cfg_.type_name());
    for (const auto& [key, v] : cfg_.items()) {
      const bool section = std::find(section_names().begin(), section_names().end(), key) != section_names().end();
      if (section) {
        if (!v.is_object()) fail("recipe config: \"{}\": expected an object of flags, got {}", key, v.dump());
        if (v.contains("skip") && !v["skip"].is_boolean()) fail("recipe config: \"{}.skip\": expected true or false", key);
        if (v.contains("prompts") && key != "serve") fail("recipe config: \"{}.prompts\": only \"serve\" takes prompts", key);
      } else if (key != "seed" && key != "corpus" && key != "model") {
        fail("recipe config: unknown key \"{}\" (keys: seed, corpus, model, and the sections {})", key,
             fmt::format("{}", fmt::join(section_names(), ", ")));
      }
    }
    if (cfg_.contains("seed") && !cfg_["seed"].is_number_integer()) fail("recipe config: \"seed\": expected an integer");
    seed_ = std::to_string(cfg_.value("seed", 1));
    corpus_ = cfg_.contains("corpus") ? string_list(cfg_["corpus"], "recipe config: \"corpus\"") : default_corpus(src_);
    if (cfg_.contains("model")) {
      if (!cfg_["model"].is_string()) fail("recipe config: \"model\": expected a path");
      base_ = cfg_["model"].get<std::string>();
    }
  }

  bool skipped(const std::string& section) const {
    return cfg_.contains(section) && cfg_[section].value("skip", false);
  }

  Command command(std::vector<std::string> sub, const std::string& section, Flags defaults, bool trains = false) const {
    Command c{std::move(sub), std::move(defaults), section, trains};
    if (cfg_.contains(section)) apply_section(c, cfg_[section], "recipe config: \"" + section + "\"");
    return c;
  }

  Plan build() {
    Plan p;
    p.out = out_;
    p.config = cfg_;
    const std::string tok = path_in(out_, "tokenizer/tokenizer.json"), shards = path_in(out_, "data/shards"),
                      task = path_in(out_, "data/task");
    const bool own_model = !base_.empty();

    Stage tokenizer = new_stage("tokenizer", skipped("tokenizer") || own_model);
    if (!tokenizer.skip) {
      if (corpus_.empty()) fail("the built-in corpus (docs/ and README.md in {}) is not there: give \"corpus\"", src_);
      tokenizer.commands.push_back(command({"tokenizer", "train"}, "tokenizer",
                                           {{"--input", corpus_}, {"--vocab-size", {"2048"}}, {"--preset", {"qwen2"}}, {"--out", {tok}}}));
    }
    p.stages.push_back(tokenizer);

    Stage data = new_stage("data", skipped("data"));
    if (!data.skip) {
      if (!own_model && !skipped("pretrain"))
        data.commands.push_back(command({"data", "prepare"}, "data",
                                        {{"--tokenizer", {tok}}, {"--input", corpus_}, {"--out", {shards}},
                                         {"--val-fraction", {"0.1"}}, {"--seed", {seed_}}}));
      if (!skipped("task"))
        data.commands.push_back(command({"data", "arithmetic"}, "task",
                                        {{"--out", {task}}, {"--train", {"3000"}}, {"--held-out", {"400"}}, {"--rl", {"600"}},
                                         {"--digits", {"2"}}, {"--second-digits", {"2"}}, {"--ops", {"+"}},
                                         {"--zh-fraction", {"0.5"}}, {"--seed", {seed_}}}));
      data.skip = data.commands.empty();
    }
    p.stages.push_back(data);

    Stage pretrain = new_stage("pretrain", skipped("pretrain") || own_model);
    std::string policy = base_;
    if (!pretrain.skip) {
      const std::string init_dir = path_in(out_, "pretrain/init"), run = path_in(out_, "pretrain");
      pretrain.commands.push_back(command({"init"}, "init",
                                          {{"--config", {path_in(src_, "configs/tiny.json")}}, {"--tokenizer", {tok}},
                                           {"--out", {init_dir}}, {"--seed", {seed_}}, {"--force", {}}}));
      pretrain.commands.push_back(command({"pretrain"}, "pretrain",
                                          {{"--init", {init_dir}}, {"--data", {shards}}, {"--out", {run}},
                                           {"--steps", {"600"}}, {"--batch", {"8"}}, {"--seq", {"128"}},
                                           {"--lr", {"2e-3"}}, {"--min-lr", {"2e-4"}},
                                           {"--eval-interval", {"100"}}, {"--checkpoint-interval", {"100"}},
                                           {"--seed", {seed_}}},
                                          true));
      finish_training(pretrain, run);
      policy = pretrain.model;
    }
    if (own_model) {  // the given model is the base: evaluated as this stage's model
      pretrain.skip = false;
      pretrain.model = base_;
      pretrain.evaluate = true;
    }
    p.stages.push_back(pretrain);
    if (policy.empty() && !(skipped("sft") && skipped("rm") && skipped("dpo") && skipped("grpo") && skipped("ppo")))
      fail("recipe config: \"pretrain\" is skipped and no \"model\" is given: the later stages need a model to start from");

    const std::string sft_data = path_in(task, "sft_train.jsonl"), prefs = path_in(task, "prefs_train.jsonl"),
                      prefs_held_out = path_in(task, "prefs_held_out.jsonl"), rl = path_in(task, "rl_train.jsonl"),
                      eval_held_out = path_in(task, "eval_held_out.jsonl");
    p.stages.push_back(training_stage("sft", {"sft"}, policy,
                                      {{"--data", {sft_data}}, {"--epochs", {"40"}}, {"--batch", {"16"}},
                                       {"--lr", {"2e-3"}}, {"--max-len", {"64"}}, {"--eval-interval", {"200"}},
                                       {"--checkpoint-interval", {"200"}}}));
    if (!p.stages.back().skip) policy = p.stages.back().model;
    const std::string sft_model = policy;

    Stage rm = training_stage("rm", {"rm", "train"}, sft_model,
                              {{"--data", {prefs}}, {"--eval-data", {prefs_held_out}}, {"--epochs", {"2"}},
                               {"--batch", {"16"}}, {"--lr", {"1e-4"}}, {"--max-len", {"64"}},
                               {"--checkpoint-interval", {"100"}}});
    rm.evaluate = false;  // a reward model: its held-out pairwise accuracy is its own metric
    p.stages.push_back(rm);

    p.stages.push_back(training_stage("dpo", {"dpo"}, sft_model,
                                      {{"--data", {prefs}}, {"--eval-data", {prefs_held_out}}, {"--epochs", {"1"}},
                                       {"--batch", {"16"}}, {"--lr", {"5e-5"}}, {"--beta", {"0.1"}},
                                       {"--rpo-alpha", {"1"}}, {"--max-len", {"64"}}, {"--checkpoint-interval", {"100"}}}));
    if (!p.stages.back().skip) policy = p.stages.back().model;

    // GRPO's prompts are problems SFT never answered (data arithmetic --rl): on its own training problems
    // the SFT model's samples are all right, and a group with one reward teaches nothing.
    p.stages.push_back(training_stage("grpo", {"grpo"}, policy,
                                      {{"--data", {rl}}, {"--eval-data", {eval_held_out}}, {"--reward", {"match"}},
                                       {"--steps", {"60"}}, {"--batch", {"16"}}, {"--group", {"16"}},
                                       {"--max-new-tokens", {"8"}}, {"--max-len", {"64"}}, {"--lr", {"1e-4"}},
                                       {"--eval-interval", {"20"}}, {"--checkpoint-interval", {"20"}}}));
    if (!p.stages.back().skip) policy = p.stages.back().model;

    // PPO needs the reward model and takes minutes more: on when the config names a "ppo" section.
    const bool ppo_on = cfg_.contains("ppo") && !skipped("ppo");
    Stage ppo = training_stage("ppo", {"ppo"}, policy,
                               {{"--data", {rl}}, {"--reward", {"model:" + path_in(out_, "rm/final")}},
                               {"--steps", {"20"}}, {"--batch", {"16"}}, {"--max-new-tokens", {"8"}},
                               {"--max-len", {"64"}}, {"--lr", {"1e-5"}}, {"--checkpoint-interval", {"10"}}});
    if (!ppo_on) {
      ppo.skip = true;
      ppo.commands.clear();
    }
    p.stages.push_back(ppo);
    if (!ppo.skip) policy = ppo.model;

    Stage distill = new_stage("distill", skipped("distill") || policy.empty());
    if (!distill.skip) {
      const std::string student = path_in(out_, "distill/student"), run = path_in(out_, "distill");
      distill.commands.push_back(command({"init"}, "student",
                                         {{"--config", {path_in(src_, "configs/micro.json")}},
                                          {"--tokenizer", {path_in(policy, "tokenizer.json")}}, {"--out", {student}},
                                          {"--seed", {seed_}}, {"--force", {}}}));
      distill.commands.push_back(command({"distill"}, "distill",
                                         {{"--teacher", {policy}}, {"--student", {student}}, {"--data", {sft_data}},
                                          {"--out", {run}}, {"--epochs", {"2"}}, {"--batch", {"16"}},
                                          {"--lr", {"2e-3"}}, {"--max-len", {"64"}}, {"--checkpoint-interval", {"100"}},
                                          {"--seed", {seed_}}},
                                         true));
      finish_training(distill, run);
    }
    p.stages.push_back(distill);

    Stage quantize = new_stage("quantize", skipped("quantize") || policy.empty());
    std::string served = policy;
    if (!quantize.skip) {
      quantize.commands.push_back(command({"quantize"}, "quantize",
                                          {{"--model", {policy}}, {"--type", {"q8_0"}},
                                           {"--out", {path_in(out_, "quantize/model.gguf")}}}));
      quantize.model = *quantize.commands.back().flag("--out");
      quantize.evaluate = true;
      served = quantize.model;
    }
    p.stages.push_back(quantize);

    Stage serve = new_stage("serve", skipped("serve") || served.empty());
    if (!serve.skip) {
      serve.commands.push_back(command({"serve"}, "serve",
                                       {{"--model", {served}}, {"--host", {"127.0.0.1"}}, {"--port", {"0"}},
                                        {"--parallel", {"2"}}}));
      serve.prompts = {"What is 47 + 8?", "计算 63 + 9 等于多少？", "Hello! Who are you?", "你好，请介绍一下你自己。"};
      if (cfg_.contains("serve") && cfg_["serve"].contains("prompts"))
        serve.prompts = string_list(cfg_["serve"]["prompts"], "recipe config: \"serve.prompts\"");
      serve.model = *serve.commands.back().flag("--model");
    }
    p.stages.push_back(serve);

    // The held-out problems when the task is generated; the built-in suites always.
    const bool task_made = !data.skip && !skipped("task");
    p.eval = command({"eval", "run"}, "eval",
                     {{"--tasks", {(task_made ? eval_held_out + "," : std::string()) + "arith_mc,arith_mc_zh"}}, {"--limit", {"400"}},
                      {"--max-tokens", {"16"}}, {"--seed", {seed_}}});
    return p;
  }

 private:
  void finish_training(Stage& s, const std::string& run) const {
    s.run_dir = run;
    s.model = path_in(run, "final");
    s.evaluate = true;
  }

  Stage training_stage(const std::string& name, std::vector<std::string> sub, const std::string& from,
                       Flags defaults) const {
    Stage s = new_stage(name, skipped(name) || from.empty());
    if (s.skip) return s;
    const std::string run = path_in(out_, name);
    Flags flags{{"--model", {from}}, {"--out", {run}}};
    flags.insert(flags.end(), defaults.begin(), defaults.end());
    flags.push_back({"--seed", {seed_}});
    s.commands.push_back(command(std::move(sub), name, std::move(flags), true));
    finish_training(s, run);
    if (name != "rm" && s.commands.back().has("--lora")) {  // an adapter: merged into a whole model
      s.commands.push_back(Command{{"lora", "merge"},
                                   {{"--model", {from}}, {"--adapter", {s.model}}, {"--out", {path_in(run, "merged")}}},
                                   name + " (lora merge)",
                                   false});
      s.model = path_in(run, "merged");
    }
    return s;
  }

  const json& cfg_;
  std::string out_, src_, seed_, base_;
  std::vector<std::string> corpus_;
};

// Single-quotes a word for a POSIX shell unless it is plain.
std::string shell_word(const std::string& w) {
  const bool plain = !w.empty() && std::all_of(w.begin(), w.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("-_./:=,+@%").find(static_cast<char>(c)) != std::string_view::npos;
  });
  if (plain) return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

std::vector<std::string> Command::argv() const {
  std::vector<std::string> a = sub;
  for (const auto& [name, values] : flags) {
    a.push_back(name);
    a.insert(a.end(), values.begin(), values.end());
  }
  return a;
}

bool Command::has(const std::string& name) const {
  return std::any_of(flags.begin(), flags.end(), [&](const auto& f) { return f.first == name; });
}

std::optional<std::string> Command::flag(const std::string& name) const {
  for (const auto& [n, values] : flags)
    if (n == name && !values.empty()) return values.front();
  return std::nullopt;
}

const Stage* Plan::find(const std::string& name) const {
  for (const auto& s : stages)
    if (s.name == name) return &s;
  return nullptr;
}

const std::vector<std::string>& stage_names() {
  static const std::vector<std::string> s{"tokenizer", "data", "pretrain", "sft",      "rm",   "dpo",
                                          "grpo",      "ppo",  "distill",  "quantize", "serve"};
  return s;
}

Plan make_plan(const json& config, const std::string& out, const std::string& source_dir) {
  return Builder(config, out, source_dir).build();
}

std::string eval_results_path(const Plan& plan, const std::string& stage) {
  return path_in(plan.out, "eval/" + stage + ".json");
}
std::string eval_samples_path(const Plan& plan, const std::string& stage) {
  return path_in(plan.out, "eval/" + stage + ".samples.jsonl");
}

Command eval_command(const Plan& plan, const Stage& stage) {
  Command c = plan.eval;
  Flags flags{{"--model", {stage.model}}};
  flags.insert(flags.end(), c.flags.begin(), c.flags.end());
  set_flag(flags, "--out", {eval_results_path(plan, stage.name)});
  set_flag(flags, "--log-samples", {eval_samples_path(plan, stage.name)});
  c.flags = std::move(flags);
  return c;
}

std::string shell_command(const Command& c) {
  std::string s = "baimo";
  for (const auto& w : c.argv()) s += " " + shell_word(w);
  return s;
}

}  // namespace baimo::recipe
