#include "baimo/recipe/recipe_report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "baimo/model/config.h"
#include "baimo/recipe/recipe_runner.h"
#include "baimo/train/loss_plot.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/json_file.h"

namespace baimo::recipe {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json read_json_if(const std::string& path) {
  return fs::exists(path) ? read_json_file(path) : json();
}

// Every JSON line of a file (blank lines skipped); errors name the file and line.
std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      out.push_back(json::parse(line));
    } catch (const json::exception& e) {
      fail("{}:{}: not valid JSON: {}", path, n, e.what());
    }
  }
  return out;
}

json val_metrics(const json& record) {
  json v = json::object();
  for (const auto& [k, x] : record.items())
    if (k.starts_with("val_") && x.is_number()) v[k.substr(4)] = x;
  return v;
}

// A training run's summary from its metrics.jsonl records: steps, tokens, first/last loss, first/last
// evaluation.
json run_summary(const std::vector<json>& records) {
  json s = json::object();
  json first_val, last_val, first, last;
  for (const json& r : records) {
    if (!r.contains("step") || !r["step"].is_number()) continue;
    const bool eval_only = r.contains("event") && r["event"] == "eval";  // the evaluation before training
    if (r.contains("event") && !eval_only) continue;
    if (!eval_only) {
      if (first.is_null()) first = r;
      last = r;
    }
    if (r.contains("val_loss")) {
      if (first_val.is_null()) first_val = r;
      last_val = r;
    }
  }
  if (last.is_null()) return nullptr;
  s["steps"] = last["step"];
  if (last.contains("tokens")) s["tokens"] = last["tokens"];
  if (first.contains("loss") && first["loss"].is_number()) s["first_loss"] = first["loss"];
  if (last.contains("loss") && last["loss"].is_number()) s["last_loss"] = last["loss"];
  if (!first_val.is_null()) s["first_eval"] = json{{"step", first_val["step"]}, {"metrics", val_metrics(first_val)}};
  if (!last_val.is_null()) s["last_eval"] = json{{"step", last_val["step"]}, {"metrics", val_metrics(last_val)}};
  return s;
}

// Curves worth drawing for a run: the loss and the objective's own signals when its first step logs them.
std::vector<std::string> curve_metrics(const std::vector<json>& records) {
  std::vector<std::string> out{"loss"};
  auto step = std::find_if(records.begin(), records.end(), [](const json& r) { return !r.contains("event"); });
  if (step == records.end()) return out;
  for (const char* m : {"reward", "kl", "rewards/accuracies", "accuracy"})
    if (step->contains(m) && out.size() < 3) out.push_back(m);
  return out;
}

json write_curves(const Plan& plan, const Stage& stage, const std::string& metrics_path, const std::vector<json>& records) {
  json files = json::array();
  const fs::path dir = fs::path(plan.out) / "report";
  fs::create_directories(dir);
  for (const std::string& metric : curve_metrics(records)) {
    train::LossCurves curves = train::read_loss_curves(metrics_path, metric);
    if (curves.train.empty() && curves.val.empty()) continue;
    train::LossPlotOptions o;
    o.metric = metric;
    o.title = fmt::format("{}: {}", stage.name, metric);
    std::string name = stage.name + "_" + metric + ".svg";
    std::replace(name.begin(), name.end(), '/', '_');
    write_file_atomic((dir / name).string(), train::render_loss_svg(curves, o));
    files.push_back("report/" + name);
  }
  return files;
}

json model_summary(const std::string& model) {
  json m = {{"path", model}};
  const fs::path config = fs::path(model) / "config.json";
  if (fs::is_directory(model) && fs::exists(config)) {
    m["parameters"] = load_model_config(config.string()).parameter_count();
  } else if (fs::is_regular_file(model)) {
    m["bytes"] = fs::file_size(model);
  }
  return m;
}

bool has_cjk(const std::string& s) {
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xE4 && c <= 0xE9) return true;  // U+4000..U+9FFF in UTF-8
  }
  return false;
}

// The user's words of a prompt the chat template wrapped (ChatML or Llama-3), else the prompt.
std::string user_text(const std::string& prompt) {
  for (const auto& [open, close] : {std::pair<std::string, std::string>{"<|im_start|>user\n", "<|im_end|>"},
                                    {"<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>"}}) {
    const size_t a = prompt.rfind(open);
    if (a == std::string::npos) continue;
    const size_t b = prompt.find(close, a + open.size());
    return prompt.substr(a + open.size(), b == std::string::npos ? std::string::npos : b - a - open.size());
  }
  return prompt;
}

// Up to two English and two Chinese answers of the first generation task in the eval's sample log.
json pick_samples(const std::string& path) {
  json out = json::array();
  if (!fs::exists(path)) return out;
  int en = 0, zh = 0;
  std::string task;
  for (const json& r : read_jsonl(path)) {
    if (!r.contains("samples") || !r["samples"].is_array() || r["samples"].empty()) continue;
    const std::string t = r.value("task", "");
    if (task.empty()) task = t;
    if (t != task) continue;
    const std::string prompt = user_text(r.value("prompt", ""));
    int& count = has_cjk(prompt) ? zh : en;
    if (count >= 2) continue;
    ++count;
    const json& s = r["samples"][0];
    out.push_back({{"task", t},
                   {"prompt", prompt},
                   {"reference", r.value("answer", "")},
                   {"output", s.value("text", "")},
                   {"correct", s.value("correct", false)},
                   {"ended_turn", s.value("end_of_turn", false)}});
    if (en >= 2 && zh >= 2) break;
  }
  return out;
}

// task -> metric -> value from an `eval run` results file (without the near-duplicates acc_norm_chars,
// no_answer and eos_rate: eot_rate is the share of answers that end their turn).
json eval_values(const json& results) {
  json out = json::object();
  if (!results.is_object() || !results.contains("results")) return out;
  for (const auto& [task, r] : results["results"].items()) {
    if (!r.contains("metrics")) continue;
    for (const auto& [metric, m] : r["metrics"].items())
      if (m.contains("value") && metric != "acc_norm_chars" && metric != "no_answer" && metric != "eos_rate") out[task][metric] = {{"value", m["value"]}, {"stderr", m.value("stderr", json())}};
  }
  return out;
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string fmt_seconds(double s) {
  if (s >= 60) return fmt::format("{}m{:02}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return fmt::format("{:.0f}s", s);
}

std::string fmt_count(double n) {
  if (n >= 1e9) return fmt::format("{:.2f}G", n / 1e9);
  if (n >= 1e6) return fmt::format("{:.2f}M", n / 1e6);
  if (n >= 1e3) return fmt::format("{:.1f}k", n / 1e3);
  return fmt::format("{:.0f}", n);
}

// The held-out metrics the summary shows (report.json keeps them all).
bool is_key_metric(const std::string& k) {
  for (const char* m : {"loss", "accuracy", "margin", "rewards/accuracies", "rewards/margins", "reward", "kl"})
    if (k == m) return true;
  return false;
}

std::string fmt_stderr(const json& v) { return v.is_number() ? fmt::format("{:.2g}", v.get<double>()) : "–"; }

std::string fmt_value(const json& v) {
  if (!v.is_number()) return "–";
  const double x = v.get<double>();
  if (std::fabs(x) >= 100) return fmt::format("{:.1f}", x);
  return fmt::format("{:.4g}", x);
}

// Markdown table cells cannot hold '|' or newlines.
std::string cell(std::string s, size_t max = 80) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  if (out.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    out = out.substr(0, cut) + "…";
  }
  return out;
}

}  // namespace

json report_json(const Plan& plan) {
  const json state = read_json_if(state_path(plan.out));
  json stages = json::array();
  for (const Stage& stage : plan.stages) {
    json s = {{"name", stage.name}};
    const json st = state.is_object() && state.contains("stages") && state["stages"].contains(stage.name)
                        ? state["stages"][stage.name]
                        : json();
    s["status"] = stage.skip ? "skipped" : st.is_object() ? st.value("status", "not run") : "not run";
    if (stage.skip) {
      stages.push_back(s);
      continue;
    }
    json commands = json::array();
    for (const auto& c : stage_commands(plan, stage)) commands.push_back(shell_command(c));
    s["commands"] = commands;
    if (st.is_object() && st.contains("wall_s")) s["wall_s"] = st["wall_s"];
    if (!stage.model.empty()) s["model"] = model_summary(stage.model);
    if (!stage.run_dir.empty()) {  // a training stage: its metrics.jsonl read once (null / [] before it runs)
      const std::string metrics = (fs::path(stage.run_dir) / "metrics.jsonl").string();
      const std::vector<json> records = fs::exists(metrics) ? read_jsonl(metrics) : std::vector<json>{};
      s["run"] = run_summary(records);
      s["curves"] = records.empty() ? json::array() : write_curves(plan, stage, metrics, records);
    }
    if (stage.evaluate) {
      s["eval"] = eval_values(read_json_if(eval_results_path(plan, stage.name)));
      s["samples"] = pick_samples(eval_samples_path(plan, stage.name));
    }
    if (stage.name == "serve") {
      const json served = read_json_if((fs::path(plan.out) / "serve" / "samples.json").string());
      if (served.is_object()) s["served"] = served;
    }
    stages.push_back(s);
  }
  return {{"recipe", plan.out}, {"written", now_utc()}, {"working_directory", fs::current_path().string()},
          {"config", plan.config}, {"stages", stages}};
}

namespace {

// The summary: one row per stage.
std::string summary_table(const json& r) {
  std::string md = "| stage | status | wall | steps | tokens | parameters | loss first → last | held-out metrics, first → last eval |\n";
  md += "|---|---|---|---|---|---|---|---|\n";
  double total = 0;
  for (const json& s : r["stages"]) {
    const json run = s.value("run", json());
    std::string params = "–";
    if (s.contains("model")) {
      if (s["model"].contains("parameters")) params = fmt_count(s["model"]["parameters"].get<double>());
      else if (s["model"].contains("bytes")) params = fmt::format("{} (file)", fmt_count(s["model"]["bytes"].get<double>()) + "B");
    }
    std::string loss = "–", held = "–", steps = "–", tokens = "–";
    if (run.is_object()) {
      steps = fmt::format("{}", run.value("steps", 0));
      if (run.contains("tokens")) tokens = fmt_count(run["tokens"].get<double>());
      loss = fmt::format("{} → {}", fmt_value(run.value("first_loss", json())), fmt_value(run.value("last_loss", json())));
      if (run.contains("last_eval")) {
        held.clear();
        const json& a = run["first_eval"]["metrics"];
        const json& b = run["last_eval"]["metrics"];
        for (const auto& [k, v] : b.items()) {
          if (!is_key_metric(k)) continue;
          if (!held.empty()) held += ", ";
          held += fmt::format("{} {} → {}", k, fmt_value(a.value(k, json())), fmt_value(v));
        }
      }
    }
    const double wall = s.value("wall_s", 0.0);
    total += wall;
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", s["name"].get<std::string>(),
                      s["status"].get<std::string>(), s.contains("wall_s") ? fmt_seconds(wall) : "–", steps, tokens,
                      params, loss, held);
  }
  md += fmt::format("\nTotal wall time {}.\n", fmt_seconds(total));
  return md;
}

// The eval suite at every stage: one row per evaluated stage, a column per task metric.
std::string eval_table(const json& r) {
  std::string md;
  std::vector<std::pair<std::string, std::string>> columns;
  for (const json& s : r["stages"])
    if (s.contains("eval"))
      for (const auto& [task, metrics] : s["eval"].items())
        for (const auto& [metric, v] : metrics.items()) {
          std::pair<std::string, std::string> c{task, metric};
          if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
        }
  if (!columns.empty()) {
    md += "\n## The eval suite after each stage\n\n| model after |";
    for (const auto& [task, metric] : columns) md += fmt::format(" {} {} |", task, metric);
    md += "\n|---|";
    for (size_t i = 0; i < columns.size(); ++i) md += "---|";
    md += "\n";
    for (const json& s : r["stages"]) {
      if (!s.contains("eval") || s["eval"].empty()) continue;
      md += fmt::format("| {} |", s["name"].get<std::string>());
      for (const auto& [task, metric] : columns) {
        const json v = s["eval"].contains(task) && s["eval"][task].contains(metric) ? s["eval"][task][metric] : json();
        md += v.is_null() ? " – |"
                          : fmt::format(" {}{} |", fmt_value(v["value"]),
                                        v["stderr"].is_number() ? " ± " + fmt_stderr(v["stderr"]) : std::string());
      }
      md += "\n";
    }
  }
  return md;
}

std::string served_table(const json& r) {
  std::string md;
  for (const json& s : r["stages"]) {
    if (!s.contains("served")) continue;
    md += fmt::format("\n## The served model — `{}`\n\n| prompt | answer | finish | tokens | seconds |\n|---|---|---|---|---|\n",
                      s["served"].value("model", ""));
    for (const json& x : s["served"]["samples"])
      md += fmt::format("| {} | {} | {} | {} | {:.2f} |\n", cell(x["prompt"]), cell(x["answer"], 160),
                        x.value("finish_reason", ""), x.value("completion_tokens", 0), x.value("seconds", 0.0));
  }
  return md;
}

}  // namespace

std::string report_summary(const json& r) { return summary_table(r) + eval_table(r) + served_table(r); }

std::string report_markdown(const json& r) {
  std::string md = fmt::format("# Report card — `{}`\n\nWritten {}; commands below run from `{}`.\n\n", r["recipe"].get<std::string>(),
                               r["written"].get<std::string>(), r["working_directory"].get<std::string>());
  md += summary_table(r) + eval_table(r);
  md += "\n## Curves\n\n";
  for (const json& s : r["stages"])
    for (const auto& f : s.value("curves", json::array())) md += fmt::format("![{}]({})\n", f.get<std::string>(), f.get<std::string>());

  md += "\n## Answers (greedy, held-out problems)\n\n| model after | prompt | reference | answer | right | ended its turn |\n|---|---|---|---|---|---|\n";
  for (const json& s : r["stages"])
    for (const json& x : s.value("samples", json::array()))
      md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", s["name"].get<std::string>(), cell(x["prompt"]),
                        cell(x["reference"]), cell(x["output"]), x["correct"].get<bool>() ? "yes" : "no",
                        x["ended_turn"].get<bool>() ? "yes" : "no");

  md += served_table(r);
  md += "\n## Commands (each stage, to redo it by hand)\n";
  for (const json& s : r["stages"]) {
    if (!s.contains("commands")) continue;
    md += fmt::format("\n### {}\n```bash\n", s["name"].get<std::string>());
    for (const auto& c : s["commands"]) md += c.get<std::string>() + "\n";
    md += "```\n";
  }
  return md;
}

ReportFiles write_report(const Plan& plan) {
  const json r = report_json(plan);
  ReportFiles f{(fs::path(plan.out) / "report.md").string(), (fs::path(plan.out) / "report.json").string(), ""};
  write_file_atomic(f.json, r.dump(2) + "\n");
  write_file_atomic(f.markdown, report_markdown(r));
  f.summary = report_summary(r);
  return f;
}

}  // namespace baimo::recipe
