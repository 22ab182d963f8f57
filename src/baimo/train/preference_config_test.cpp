// DPO / reward-model settings: max_prompt_len's default adapts to max_len (min(512, max_len / 2),
// written back into the saved settings so a resume keeps it); a chosen value must stay below max_len.
#include "baimo/train/preference_config.h"

#include <gtest/gtest.h>

#include "baimo/util/error_of.h"

namespace preference_config_test {
using namespace baimo;
using namespace baimo::train;
using json = nlohmann::json;

json settings(const json& over) {
  json j = run_defaults(dpo_keys());
  j["model"] = "m";
  j["data"] = json::array({"d.json"});
  j["out"] = "o";
  apply_run_config(j, over, dpo_keys(), "run.json");
  return j;
}

TEST(PreferenceConfig, MaxPromptLenDefaultAdaptsToMaxLen) {
  PreferenceConfig c = parse_preference_config(settings({{"max_len", 256}}), "test", PreferenceStage::Dpo);
  EXPECT_EQ(c.max_prompt_len, 128);
  EXPECT_EQ(c.merged.at("max_prompt_len"), 128);  // saved resolved
  c = parse_preference_config(settings({{"max_len", 2048}}), "test", PreferenceStage::Dpo);
  EXPECT_EQ(c.max_prompt_len, 512);
  c = parse_preference_config(settings({{"max_len", 256}, {"max_prompt_len", 200}}), "test", PreferenceStage::Dpo);
  EXPECT_EQ(c.max_prompt_len, 200);
  EXPECT_NE(error_of([] {
              parse_preference_config(settings({{"max_len", 256}, {"max_prompt_len", 256}}), "run.json",
                                      PreferenceStage::Dpo);
            }).find("\"max_prompt_len\" 256 must be below \"max_len\" 256"),
            std::string::npos);
}

}  // namespace preference_config_test
