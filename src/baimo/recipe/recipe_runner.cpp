#include "baimo/recipe/recipe_runner.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>
#include <httplib.h>

#include "baimo/recipe/child_process.h"
#include "baimo/recipe/recipe_report.h"
#include "baimo/train/checkpoint.h"
#include "baimo/util/elapsed.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/json_file.h"

namespace baimo::recipe {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

void write_json(const std::string& path, const json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

// The first key where two configs differ ("sft.lr"), or "" when equal.
std::string first_difference(const json& a, const json& b, const std::string& at = "") {
  if (a == b) return "";
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      const std::string where = at.empty() ? k : at + "." + k;
      if (!b.contains(k)) return where;
      if (std::string d = first_difference(v, b[k], where); !d.empty()) return d;
    }
    for (const auto& [k, v] : b.items())
      if (!a.contains(k)) return at.empty() ? k : at + "." + k;
  }
  return at.empty() ? "(the whole config)" : at;
}

// Prints a child's lines: progress lines (training steps, progress bars) redrawn in place on a
// terminal, else one every ~10 s; the others as they come. Called from the child's reader thread.
class ConsoleLines {
 public:
  explicit ConsoleLines(std::string stage) : stage_(std::move(stage)), tty_(::isatty(1)) {}
  ~ConsoleLines() { end(); }
  void operator()(std::string_view line) {
    std::lock_guard lock(mu_);
    // A training step ("step 12/300 ...") or a progress bar ("reading [####....]  50.0% ...").
    const bool progress = (line.starts_with("step ") && line.find('/') != std::string_view::npos) ||
                          ((line.find(" [#") != std::string_view::npos || line.find(" [.") != std::string_view::npos) &&
                           line.find('%') != std::string_view::npos);
    if (progress) {
      if (tty_) {
        std::printf("\r\033[K  [%s] %.*s", stage_.c_str(), static_cast<int>(std::min<size_t>(line.size(), 150)),
                    line.data());
        open_ = true;
      } else if (seconds_since(last_) >= 10) {
        std::printf("  [%s] %.*s\n", stage_.c_str(), static_cast<int>(line.size()), line.data());
        last_ = Clock::now();
      }
    } else {
      end_locked();
      std::printf("  [%s] %.*s\n", stage_.c_str(), static_cast<int>(line.size()), line.data());
    }
    std::fflush(stdout);
  }
  void end() {
    std::lock_guard lock(mu_);
    end_locked();
  }

 private:
  void end_locked() {
    if (open_) std::printf("\n");
    open_ = false;
  }
  std::string stage_;
  bool tty_, open_ = false;
  Clock::time_point last_ = Clock::now() - std::chrono::seconds(60);
  std::mutex mu_;
};

std::string describe_exit(const ChildExit& e) {
  return e.signal ? fmt::format("was killed by signal {}", e.signal) : fmt::format("exited with status {}", e.exit_status);
}

// Runs one command to completion; a failure names the stage, the command and the log.
void run_command(const Stage& stage, const std::vector<std::string>& argv, const std::string& shown,
                 const std::string& log) {
  ConsoleLines console(stage.name);
  ChildProcess child(argv, log, [&console](std::string_view line) { console(line); });
  const ChildExit e = child.wait();
  console.end();
  if (!e.ok()) fail("stage {}: `{}` {}; its output is in {}", stage.name, shown, describe_exit(e), log);
}

// serve: the server on loopback, every prompt asked once over the OpenAI API, the answers saved.
void run_serve(const Plan& plan, const Stage& stage, const std::vector<std::string>& argv, const std::string& shown,
               const std::string& log) {
  ConsoleLines console(stage.name);
  std::mutex mu;
  std::condition_variable cv;
  int port = 0;
  ChildProcess child(argv, log, [&](std::string_view line) {
    console(line);
    const std::string_view marker = "listening on http://";
    if (const size_t at = line.find(marker); at != std::string_view::npos) {
      const std::string_view rest = line.substr(at + marker.size());
      const size_t colon = rest.find(':');
      std::lock_guard lock(mu);
      if (colon != std::string_view::npos) port = std::atoi(std::string(rest.substr(colon + 1)).c_str());
      cv.notify_all();
    }
  });
  for (const auto t0 = Clock::now(); child.running() && seconds_since(t0) < 300;) {
    std::unique_lock lock(mu);
    if (cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return port > 0; })) break;
  }
  if (port <= 0) {
    child.signal(SIGKILL);
    const ChildExit e = child.wait();
    fail("stage serve: `{}` did not start listening ({}); its output is in {}", shown, describe_exit(e), log);
  }
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(300, 0);
  std::string model_id = "baimo";
  if (httplib::Result models = cli.Get("/v1/models"); models && models->status == 200) {
    const json m = json::parse(models->body, nullptr, false);
    if (m.is_object() && m.contains("data") && m["data"].is_array() && !m["data"].empty())
      model_id = m["data"][0].value("id", model_id);
  }
  json samples = json::array();
  for (const auto& prompt : stage.prompts) {
    json body = {{"model", model_id},
                 {"messages", {{{"role", "user"}, {"content", prompt}}}},
                 {"temperature", 0},
                 {"max_tokens", 64}};
    const auto t0 = Clock::now();
    httplib::Result res = cli.Post("/v1/chat/completions", body.dump(), "application/json");
    if (!res || res->status != 200) {
      child.signal(SIGTERM);
      child.wait();
      fail("stage serve: POST /v1/chat/completions on port {} failed: {}", port,
           res ? fmt::format("HTTP {}: {}", res->status, res->body.substr(0, 300)) : httplib::to_string(res.error()));
    }
    const json r = json::parse(res->body, nullptr, false);
    if (!r.is_object() || !r.contains("choices") || r["choices"].empty())
      fail("stage serve: the server's answer is not a chat completion: {}", res->body.substr(0, 300));
    const json& choice = r["choices"][0];
    samples.push_back({{"prompt", prompt},
                       {"answer", choice["message"].value("content", "")},
                       {"finish_reason", choice.value("finish_reason", "")},
                       {"completion_tokens", r.contains("usage") ? r["usage"].value("completion_tokens", 0) : 0},
                       {"seconds", seconds_since(t0)}});
    console(fmt::format("Q: {}", prompt));
    console(fmt::format("A: {}", choice["message"].value("content", "")));
  }
  child.signal(SIGTERM);
  const ChildExit e = child.wait();
  console.end();
  if (!e.ok()) fail("stage serve: `{}` {} when stopped; its output is in {}", shown, describe_exit(e), log);
  fs::create_directories(fs::path(plan.out) / "serve");
  write_json((fs::path(plan.out) / "serve" / "samples.json").string(),
             {{"model", stage.model}, {"command", shown}, {"samples", samples}});
}

bool has_checkpoints(const Command& c) {
  const auto out = c.flag("--out");
  return out && fs::is_directory(*out) && !list_checkpoints(*out).empty();
}

void forget_from(json& state, const Plan& plan, const std::string& first) {
  bool on = false;
  for (const auto& s : plan.stages) {
    on = on || s.name == first;
    if (!on) continue;
    state["stages"].erase(s.name);
    fs::remove_all(fs::path(plan.out) / s.name);  // every stage writes under DIR/STAGE
    fs::remove(eval_results_path(plan, s.name));
    fs::remove(eval_samples_path(plan, s.name));
  }
}

}  // namespace

std::string state_path(const std::string& out) { return (fs::path(out) / "recipe_state.json").string(); }

std::vector<Command> stage_commands(const Plan& plan, const Stage& stage) {
  std::vector<Command> c = stage.commands;
  if (stage.evaluate && !stage.model.empty()) c.push_back(eval_command(plan, stage));
  return c;
}

void run_recipe(const Plan& plan, const RunOptions& o) {
  if (!o.restart_from.empty() && !plan.find(o.restart_from))
    fail("--restart-from {}: not a stage (stages: {})", o.restart_from, fmt::format("{}", fmt::join(stage_names(), ", ")));
  fs::create_directories(fs::path(plan.out) / "logs");
  const std::string saved_config = (fs::path(plan.out) / "recipe.json").string();
  json state = fs::exists(state_path(plan.out)) ? read_json_file(state_path(plan.out)) : json{{"stages", json::object()}};
  if (!state.contains("stages") || !state["stages"].is_object())
    fail("{}: not a recipe state (no \"stages\" object)", state_path(plan.out));
  if (fs::exists(saved_config)) {
    const json before = read_json_file(saved_config);
    const std::string diff = first_difference(before, plan.config);
    if (!diff.empty() && o.restart_from.empty())
      fail("{} was started with another config ({} differs from {}): pass --restart-from STAGE to redo that stage "
           "and the ones after it with this config, or choose another --out",
           plan.out, diff, saved_config);
  }
  if (!o.restart_from.empty()) forget_from(state, plan, o.restart_from);
  write_json(saved_config, plan.config);
  write_json(state_path(plan.out), state);

  size_t number = 0, total = 0;
  for (const auto& s : plan.stages) total += s.skip ? 0 : 1;
  for (const auto& stage : plan.stages) {
    json& st = state["stages"][stage.name];
    if (!st.is_object()) st = json::object();
    if (stage.skip) {
      st = {{"status", "skipped"}};
      write_json(state_path(plan.out), state);
      continue;
    }
    ++number;
    const std::vector<Command> commands = stage_commands(plan, stage);
    json shown = json::array();
    for (const auto& c : commands) shown.push_back(shell_command(c));
    // A config change is refused above unless --restart-from forgot the stages it changes: what is
    // recorded as done (or partly done) stays so.
    if (st.value("status", "") == "done") {
      std::printf("[%zu/%zu] %s: done before (%.0f s), skipped\n", number, total, stage.name.c_str(),
                  st.value("wall_s", 0.0));
      continue;
    }
    const size_t done_before = st.value("status", "") == "running" ? st.value("commands_done", size_t{0}) : 0;
    const double wall_before = done_before > 0 ? st.value("wall_s", 0.0) : 0.0;
    st = {{"status", "running"}, {"commands", shown}, {"commands_done", done_before}, {"wall_s", wall_before}};
    write_json(state_path(plan.out), state);
    std::printf("[%zu/%zu] %s%s\n", number, total, stage.name.c_str(),
                done_before > 0 ? fmt::format(" (resuming at command {})", done_before + 1).c_str() : "");
    std::fflush(stdout);
    const std::string log = (fs::path(plan.out) / "logs" / (stage.name + ".log")).string();
    for (size_t i = done_before; i < commands.size(); ++i) {
      const auto t0 = Clock::now();
      std::vector<std::string> argv{o.program};
      for (auto& a : commands[i].argv()) argv.push_back(std::move(a));
      std::string text = shown[i].get<std::string>();
      if (commands[i].trains && has_checkpoints(commands[i])) {
        argv.push_back("--resume");
        text += " --resume";
      }
      std::printf("  $ %s\n", text.c_str());
      std::fflush(stdout);
      if (stage.name == "serve" && commands[i].sub.front() == "serve")
        run_serve(plan, stage, argv, text, log);
      else
        run_command(stage, argv, text, log);
      st["commands_done"] = i + 1;
      st["wall_s"] = st["wall_s"].get<double>() + seconds_since(t0);
      write_json(state_path(plan.out), state);
    }
    st["status"] = "done";
    write_json(state_path(plan.out), state);
    std::printf("  %s done in %.0f s\n", stage.name.c_str(), st["wall_s"].get<double>());
  }
  const ReportFiles r = write_report(plan);
  std::printf("\n%s\nreport card: %s (and %s; curves in %s)\n", r.summary.c_str(), r.markdown.c_str(), r.json.c_str(),
              (fs::path(plan.out) / "report").c_str());
}

}  // namespace baimo::recipe
