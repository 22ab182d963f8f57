// The report card from what a recipe directory holds: a training stage's metrics (steps, tokens, first
// and last loss and evaluation), the eval suite per stage, English and Chinese sample answers, the
// served model's answers, curves as SVG files; stages not run yet are "not run"; broken files are
// errors naming them.
#include "baimo/recipe/recipe_report.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "baimo/recipe/recipe_runner.h"
#include "baimo/util/error_of.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace recipe_report_test {
using namespace baimo;
using namespace baimo::recipe;
using json = nlohmann::json;
namespace fs = std::filesystem;

struct Fixture {
  TempDir tmp{"recipe_report"};
  std::string out = (tmp.dir / "R").string();
  Plan plan = make_plan({{"ppo", {{"skip", true}}}}, out, BAIMO_SOURCE_DIR);

  void put(const std::string& rel, const std::string& text) {
    const fs::path p = fs::path(out) / rel;
    fs::create_directories(p.parent_path());
    write_file_atomic(p.string(), text);
  }
  Fixture() {
    put("recipe_state.json", json{{"stages", {{"sft", {{"status", "done"}, {"wall_s", 61.5}}}}}}.dump());
    put("sft/metrics.jsonl",
        "{\"event\": \"eval\", \"step\": 0, \"val_loss\": 11.5}\n"
        "{\"step\": 1, \"loss\": 9.5, \"tokens\": 1024, \"val_loss\": 10.8}\n"
        "{\"event\": \"skip\", \"step\": 2}\n"
        "{\"step\": 2, \"loss\": 3.25, \"tokens\": 2048, \"val_loss\": 2.5, \"val_ppl\": 12.2}\n");
    put("eval/sft.json",
        json{{"results", {{"eval_held_out", {{"metrics", {{"exact_match", {{"value", 0.125}, {"stderr", 0.02}}},
                                                           {"eot_rate", {{"value", 1.0}, {"stderr", 0.0}}}}}}}}}}
            .dump());
    auto sample = [](const std::string& prompt, const std::string& text) {
      return json{{"task", "eval_held_out"},
                  {"prompt", prompt},
                  {"answer", "12"},
                  {"samples", {{{"text", text}, {"correct", text == "12"}, {"end_of_turn", true}}}}}
                 .dump() + "\n";
    };
    put("eval/sft.samples.jsonl", sample("What is 7 + 5?", "12") + sample("What is 9 + 3?", "13") +
                                      sample("Add 4 and 8.", "12") + sample("计算 7 + 5", "12") +
                                      sample("<|im_start|>user\n7 加 5 等于多少？<|im_end|>\n<|im_start|>assistant\n", "1|2"));
    put("serve/samples.json",
        json{{"model", "m.gguf"},
             {"samples", {{{"prompt", "你好"}, {"answer", "你好！"}, {"finish_reason", "stop"}, {"completion_tokens", 3},
                           {"seconds", 0.1}}}}}
            .dump());
  }
};

TEST(RecipeReport, GathersEveryStagesFigures) {
  Fixture f;
  const json r = report_json(f.plan);
  const json* sft = nullptr;
  for (const auto& s : r["stages"])
    if (s["name"] == "sft") sft = &s;
  ASSERT_NE(sft, nullptr);
  EXPECT_EQ((*sft)["status"], "done");
  EXPECT_EQ((*sft)["wall_s"], 61.5);
  EXPECT_EQ((*sft)["run"]["steps"], 2);
  EXPECT_EQ((*sft)["run"]["tokens"], 2048);
  EXPECT_EQ((*sft)["run"]["first_loss"], 9.5);
  EXPECT_EQ((*sft)["run"]["last_loss"], 3.25);
  EXPECT_EQ((*sft)["run"]["first_eval"]["step"], 0);  // the evaluation before training
  EXPECT_EQ((*sft)["run"]["first_eval"]["metrics"]["loss"], 11.5);
  EXPECT_EQ((*sft)["run"]["last_eval"]["metrics"]["loss"], 2.5);
  EXPECT_EQ((*sft)["eval"]["eval_held_out"]["exact_match"]["value"], 0.125);
  // Two English and two Chinese answers.
  ASSERT_EQ((*sft)["samples"].size(), 4u);
  EXPECT_EQ((*sft)["samples"][2]["prompt"], "计算 7 + 5");
  EXPECT_EQ((*sft)["samples"][1]["correct"], false);
  EXPECT_TRUE(fs::exists(fs::path(f.out) / "report" / "sft_loss.svg"));
  EXPECT_EQ((*sft)["curves"][0], "report/sft_loss.svg");
  EXPECT_NE((*sft)["commands"][0].get<std::string>().find("baimo sft --model"), std::string::npos);
  for (const auto& s : r["stages"]) {
    if (s["name"] == "dpo") {
      EXPECT_EQ(s["status"], "not run");
    } else if (s["name"] == "ppo") {
      EXPECT_EQ(s["status"], "skipped");
    } else if (s["name"] == "serve") {
      EXPECT_EQ(s["served"]["samples"][0]["answer"], "你好！");
    }
  }
}

TEST(RecipeReport, MarkdownHasTheSummaryEvalTableSamplesAndCommands) {
  Fixture f;
  const ReportFiles files = write_report(f.plan);
  const std::string md = read_file(files.markdown);
  EXPECT_NE(md.find("| sft | done | 1m01s | 2 | 2.0k |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 9.5 → 3.25 | loss 11.5 → 2.5 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| sft | 1 ± 0 | 0.125 ± 0.02 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| sft | 7 加 5 等于多少？ | 12 | 1\\|2 | no | yes |"), std::string::npos) << md;  // '|' escaped
  EXPECT_NE(md.find("![report/sft_loss.svg](report/sft_loss.svg)"), std::string::npos);
  EXPECT_NE(md.find("| 你好 | 你好！ | stop | 3 |"), std::string::npos);
  EXPECT_NE(md.find("### sft\n```bash\nbaimo sft --model"), std::string::npos);
  EXPECT_EQ(json::parse(read_file(files.json))["recipe"], f.out);
}

TEST(RecipeReport, BrokenFilesAreErrorsNamingThem) {
  Fixture f;
  f.put("sft/metrics.jsonl", "{\"step\": 1, \"loss\": 2}\nnot json\n");
  EXPECT_NE(error_of([&] { report_json(f.plan); }).find("sft/metrics.jsonl:2"), std::string::npos);
  Fixture g;
  g.put("eval/sft.json", "{");
  EXPECT_NE(error_of([&] { report_json(g.plan); }).find("eval/sft.json"), std::string::npos);
}

}  // namespace recipe_report_test
