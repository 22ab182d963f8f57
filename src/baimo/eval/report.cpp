#include "baimo/eval/report.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::eval {

std::string format_table(const std::vector<TaskResult>& results) {
  size_t w = 4, mw = 6;
  for (auto& r : results) {
    w = std::max(w, r.task.size());
    for (auto& m : r.metrics) mw = std::max(mw, m.name.size());
  }
  std::string out = fmt::format("{:<{}}  {:<{}} {:>9} {:>9} {:>6}\n", "task", w, "metric", mw, "value", "stderr", "n");
  for (auto& r : results)
    for (auto& m : r.metrics)
      out += fmt::format("{:<{}}  {:<{}} {:>9.4f} {:>9.4f} {:>6}\n", r.task, w, m.name, mw, m.value, m.stderr_, m.n);
  return out;
}

nlohmann::json results_json(const std::string& model, const nlohmann::json& settings,
                            const std::vector<TaskResult>& results) {
  nlohmann::json res = nlohmann::json::object();
  for (auto& r : results) {
    nlohmann::json ms = nlohmann::json::object();
    for (auto& m : r.metrics) ms[m.name] = {{"value", m.value}, {"stderr", m.stderr_}, {"n", m.n}};
    res[r.task] = {{"kind", r.kind}, {"n", r.n}, {"seconds", r.seconds}, {"metrics", ms}};
  }
  return {{"model", model}, {"settings", settings}, {"results", res}};
}

std::string json_line(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"; }

void write_results(const std::string& path, const nlohmann::json& j) {
  write_file_atomic(path, j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void append_report(const std::string& path, nlohmann::json j) {
  char buf[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  j["time"] = buf;
  const std::string line = json_line(j);
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) fail("{}: cannot open the report file: {}", path, std::strerror(errno));
  const bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  if (std::fclose(f) != 0 || !ok) fail("{}: cannot append to the report file: {}", path, std::strerror(errno));
}

}  // namespace baimo::eval
