// Output of `baimo eval run`.
// - format_table: one row per (task, metric): task, metric, value, ± stderr, n; fixed-width text.
// - results_json: {"model", "settings": {...}, "results": {task: {"kind", "n", "seconds",
//   "metrics": {metric: {"value", "stderr", "n"}}}}}.
// - write_results: the JSON (indented) to a file atomically (util/file_io.h write_file_atomic).
// - append_report: one line (compact JSON, the same object plus "time": ISO 8601 UTC) appended to a
//   JSONL file, created when missing; errors name the path.
// - json_line: compact JSON and a newline. Every JSON text written here replaces invalid UTF-8 (a
//   model's answer may end inside a character) with U+FFFD instead of failing.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "baimo/eval/run_task.h"

namespace baimo::eval {

std::string format_table(const std::vector<TaskResult>& results);
nlohmann::json results_json(const std::string& model, const nlohmann::json& settings,
                            const std::vector<TaskResult>& results);
void write_results(const std::string& path, const nlohmann::json& j);
void append_report(const std::string& path, nlohmann::json j);
std::string json_line(const nlohmann::json& j);

}  // namespace baimo::eval
