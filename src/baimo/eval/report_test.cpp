#include "baimo/eval/report.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace report_test {
using namespace baimo;
using namespace baimo::eval;

std::vector<TaskResult> sample_results() {
  TaskResult a{"arith_mc", "multiple_choice", 4, {{"acc", 0.75, 0.25, 4}, {"acc_norm_chars", 0.5, 0.2887, 4}}, 1.5};
  TaskResult g{"copy_gen_zh", "generation", 2, {{"exact_match", 0.5, 0.5, 2}}, 0.5};
  return {a, g};
}

TEST(Report, TableAndJson) {
  auto r = sample_results();
  const std::string t = format_table(r);
  EXPECT_EQ(t,
            "task         metric             value    stderr      n\n"
            "arith_mc     acc               0.7500    0.2500      4\n"
            "arith_mc     acc_norm_chars    0.5000    0.2887      4\n"
            "copy_gen_zh  exact_match       0.5000    0.5000      2\n");
  nlohmann::json j = results_json("m", {{"seed", 1}}, r);
  EXPECT_EQ(j["model"], "m");
  EXPECT_EQ(j["settings"]["seed"], 1);
  EXPECT_EQ(j["results"]["arith_mc"]["metrics"]["acc"]["value"], 0.75);
  EXPECT_EQ(j["results"]["arith_mc"]["metrics"]["acc"]["stderr"], 0.25);
  EXPECT_EQ(j["results"]["arith_mc"]["metrics"]["acc"]["n"], 4);
  EXPECT_EQ(j["results"]["copy_gen_zh"]["kind"], "generation");
}

TEST(Report, InvalidUtf8IsReplaced) {
  nlohmann::json j = {{"text", std::string("ok \xE8\xAF")}};  // a character cut after 2 of its 3 bytes
  EXPECT_EQ(json_line(j), "{\"text\":\"ok \xEF\xBF\xBD\"}\n");
}

TEST(Report, WritesAndAppends) {
  TempDir d("baimo_eval_report_");
  const std::string out = d.dir.string() + "/r.json", rep = d.dir.string() + "/report.jsonl";
  nlohmann::json j = results_json("m", nlohmann::json::object(), sample_results());
  write_results(out, j);
  EXPECT_EQ(nlohmann::json::parse(read_file(out)), j);
  append_report(rep, j);
  append_report(rep, j);
  const std::string text = read_file(rep);
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  nlohmann::json line = nlohmann::json::parse(text.substr(0, text.find('\n')));
  EXPECT_EQ(line["results"], j["results"]);
  EXPECT_EQ(line["time"].get<std::string>().size(), 20u);  // 2026-01-02T03:04:05Z
  EXPECT_THROW(append_report(d.dir.string() + "/no/such/dir/r.jsonl", j), Error);
}

}  // namespace report_test
