// The recipe's plan: the default stages and their commands, how a config section changes a command's
// flags, skips, a model of one's own, and the errors that name the config key.
#include "baimo/recipe/recipe_plan.h"

#include <gtest/gtest.h>

#include "baimo/util/error_of.h"

namespace recipe_plan_test {
using namespace baimo;
using namespace baimo::recipe;
using json = nlohmann::json;

const std::string kSrc = BAIMO_SOURCE_DIR;

std::vector<std::string> names(const Plan& p, bool run_only) {
  std::vector<std::string> out;
  for (const auto& s : p.stages)
    if (!run_only || !s.skip) out.push_back(s.name);
  return out;
}

TEST(RecipePlan, DefaultsRunEveryStageButPpoInOrder) {
  const Plan p = make_plan(json::object(), "R", kSrc);
  EXPECT_EQ(names(p, false), stage_names());
  EXPECT_EQ(names(p, true), (std::vector<std::string>{"tokenizer", "data", "pretrain", "sft", "rm", "dpo", "grpo",
                                                      "distill", "quantize", "serve"}));
  // The models flow from stage to stage: sft from the base, rm and dpo from sft, grpo from dpo.
  EXPECT_EQ(p.find("pretrain")->model, "R/pretrain/final");
  EXPECT_EQ(*p.find("sft")->commands[0].flag("--model"), "R/pretrain/final");
  EXPECT_EQ(*p.find("rm")->commands[0].flag("--model"), "R/sft/final");
  EXPECT_EQ(*p.find("dpo")->commands[0].flag("--model"), "R/sft/final");
  EXPECT_EQ(*p.find("grpo")->commands[0].flag("--model"), "R/dpo/final");
  EXPECT_EQ(*p.find("distill")->commands[1].flag("--teacher"), "R/grpo/final");
  EXPECT_EQ(*p.find("quantize")->commands[0].flag("--model"), "R/grpo/final");
  EXPECT_EQ(p.find("serve")->model, "R/quantize/model.gguf");
  EXPECT_FALSE(p.find("rm")->evaluate);  // a reward model is judged by its own held-out accuracy
  EXPECT_TRUE(p.find("sft")->evaluate);
  // GRPO learns on the task's RL problems, which SFT never answered (data arithmetic --rl).
  EXPECT_EQ(*p.find("data")->commands[1].flag("--rl"), "600");
  EXPECT_EQ(*p.find("grpo")->commands[0].flag("--data"), "R/data/task/rl_train.jsonl");
  EXPECT_EQ(*p.find("sft")->commands[0].flag("--data"), "R/data/task/sft_train.jsonl");
  // The default corpus is the repository's own bilingual text.
  EXPECT_EQ(*p.find("tokenizer")->commands[0].flag("--input"), kSrc + "/docs/guide.md");
  const Command e = eval_command(p, *p.find("sft"));
  EXPECT_EQ(*e.flag("--model"), "R/sft/final");
  EXPECT_EQ(*e.flag("--out"), "R/eval/sft.json");
  EXPECT_EQ(*e.flag("--log-samples"), "R/eval/sft.samples.jsonl");
  EXPECT_EQ(e.sub, (std::vector<std::string>{"eval", "run"}));
}

TEST(RecipePlan, SectionsOverrideFlagsAndSkipStages) {
  const json c = {{"seed", 7},
                  {"sft", {{"lr", 3e-4}, {"max_len", 128}, {"data", {"a.jsonl", "b.json"}}, {"lora", true}}},
                  {"dpo", {{"skip", true}}},
                  {"grpo", {{"eval-data", nullptr}, {"packing", false}}},
                  {"ppo", json::object()}};
  const Plan p = make_plan(c, "R", kSrc);
  const Command& sft = p.find("sft")->commands[0];
  EXPECT_EQ(*sft.flag("--lr"), "0.0003");
  EXPECT_EQ(*sft.flag("--max-len"), "128");
  EXPECT_EQ(*sft.flag("--seed"), "7");
  const auto argv = sft.argv();
  auto at = std::find(argv.begin(), argv.end(), "--data");
  ASSERT_NE(at, argv.end());
  EXPECT_EQ(*(at + 1), "a.jsonl");
  EXPECT_EQ(*(at + 2), "b.json");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--lora"), argv.end());
  EXPECT_TRUE(p.find("dpo")->skip);
  // With DPO skipped GRPO starts from the SFT model; null drops a default flag, false is --no-FLAG.
  const Command& grpo = p.find("grpo")->commands[0];
  EXPECT_EQ(*grpo.flag("--model"), "R/sft/merged");
  EXPECT_FALSE(grpo.flag("--eval-data"));
  const auto g = grpo.argv();
  EXPECT_NE(std::find(g.begin(), g.end(), "--no-packing"), g.end());
  // A "ppo" section turns PPO on, after GRPO, against the recipe's reward model.
  const Stage* ppo = p.find("ppo");
  ASSERT_FALSE(ppo->skip);
  EXPECT_EQ(*ppo->commands[0].flag("--model"), "R/grpo/final");
  EXPECT_EQ(*ppo->commands[0].flag("--reward"), "model:R/rm/final");
  EXPECT_EQ(*p.find("quantize")->commands[0].flag("--model"), "R/ppo/final");
}

TEST(RecipePlan, OwnModelSkipsTokenizerShardsAndPretraining) {
  const Plan p = make_plan({{"model", "qwen"}}, "R", kSrc);
  EXPECT_TRUE(p.find("tokenizer")->skip);
  const Stage* data = p.find("data");
  ASSERT_EQ(data->commands.size(), 1u);  // the task only
  EXPECT_EQ(data->commands[0].sub, (std::vector<std::string>{"data", "arithmetic"}));
  const Stage* base = p.find("pretrain");
  EXPECT_TRUE(base->commands.empty());
  EXPECT_EQ(base->model, "qwen");  // evaluated as the base
  EXPECT_TRUE(base->evaluate);
  EXPECT_EQ(*p.find("sft")->commands[0].flag("--model"), "qwen");
}

TEST(RecipePlan, LoraStagesMergeTheirAdapterForTheNextStage) {
  const Plan p = make_plan({{"sft", {{"lora", true}}}, {"rm", {{"lora", true}}}}, "R", kSrc);
  const Stage* sft = p.find("sft");
  ASSERT_EQ(sft->commands.size(), 2u);
  EXPECT_EQ(sft->commands[1].sub, (std::vector<std::string>{"lora", "merge"}));
  EXPECT_EQ(*sft->commands[1].flag("--model"), "R/pretrain/final");
  EXPECT_EQ(*sft->commands[1].flag("--adapter"), "R/sft/final");
  EXPECT_FALSE(sft->commands[1].has("--lora"));  // the section's flags are the training command's only
  EXPECT_EQ(sft->model, "R/sft/merged");
  EXPECT_EQ(*p.find("dpo")->commands[0].flag("--model"), "R/sft/merged");
  EXPECT_EQ(p.find("rm")->commands.size(), 1u);  // a reward model's adapter is not merged
}

TEST(RecipePlan, ServePromptsAndSkippedQuantize) {
  const Plan p = make_plan({{"quantize", {{"skip", true}}}, {"serve", {{"prompts", {"hi", "你好"}}}}}, "R", kSrc);
  EXPECT_EQ(p.find("serve")->prompts, (std::vector<std::string>{"hi", "你好"}));
  EXPECT_EQ(p.find("serve")->model, "R/grpo/final");  // the policy itself when there is no GGUF
}

TEST(RecipePlan, ShellCommandQuotesWhatNeedsIt) {
  Command c{{"sft"}, {{"--data", {"my file.jsonl", "it's.json"}}, {"--lora", {}}, {"--lr", {"1e-4"}}}, "sft", true};
  EXPECT_EQ(shell_command(c), "baimo sft --data 'my file.jsonl' 'it'\\''s.json' --lora --lr 1e-4");
}

TEST(RecipePlan, ErrorsNameTheKey) {
  EXPECT_NE(error_of([] { make_plan({{"sfft", json::object()}}, "R", kSrc); }).find("unknown key \"sfft\""),
            std::string::npos);
  EXPECT_NE(error_of([] { make_plan({{"sft", 3}}, "R", kSrc); }).find("\"sft\": expected an object"), std::string::npos);
  EXPECT_NE(error_of([] { make_plan({{"sft", {{"lr", {{"x", 1}}}}}}, "R", kSrc); }).find("sft\".lr"), std::string::npos);
  EXPECT_NE(error_of([] { make_plan({{"sft", {{"skip", "yes"}}}}, "R", kSrc); }).find("\"sft.skip\""), std::string::npos);
  EXPECT_NE(error_of([] { make_plan({{"sft", {{"prompts", {"a"}}}}}, "R", kSrc); }).find("only \"serve\""),
            std::string::npos);
  EXPECT_NE(error_of([] { make_plan({{"seed", "one"}}, "R", kSrc); }).find("\"seed\""), std::string::npos);
  EXPECT_NE(error_of([] { make_plan({{"corpus", json::array()}}, "R", kSrc); }).find("\"corpus\""), std::string::npos);
  EXPECT_NE(error_of([] { make_plan({{"pretrain", {{"skip", true}}}}, "R", kSrc); }).find("no \"model\""),
            std::string::npos);
  EXPECT_NE(error_of([] { make_plan(json::array(), "R", kSrc); }).find("JSON object"), std::string::npos);
}

}  // namespace recipe_plan_test
