#include "baimo/train/pretrain_config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "baimo/util/error.h"
#include "baimo/util/error_of.h"

namespace pretrain_config_test {
using namespace baimo;
using namespace baimo::train;
using json = nlohmann::json;

const PretrainKey& key(const std::string& name) {
  for (const auto& k : pretrain_keys())
    if (name == k.name) return k;
  throw std::runtime_error("no key " + name);
}
json base() {
  json j = pretrain_defaults();
  j["data"] = "d";
  j["out"] = "o";
  j["config"] = "c.json";
  return j;
}

TEST(PretrainConfig, FileThenFlagsOverride) {
  json j = base();
  apply_run_config(j, json{{"steps", 50}, {"lr", 1e-3}, {"schedule", "wsd"}, {"grad_accum", 2}, {"warmup", 5}}, "run.json");
  apply_flag(j, key("steps"), "40");
  apply_flag(j, key("min_lr"), "1e-5");
  PretrainConfig c = parse_pretrain_config(j, "test");
  EXPECT_EQ(c.train.steps, 40);
  EXPECT_FLOAT_EQ(c.train.lr, 1e-3f);
  EXPECT_FLOAT_EQ(c.train.min_lr, 1e-5f);
  EXPECT_EQ(c.train.grad_accum, 2);
  EXPECT_EQ(c.train.schedule, Schedule::Wsd);
  EXPECT_EQ(c.train.out_dir, "o");
  EXPECT_EQ(flag_name(key("grad_accum")), "--grad-accum");
}

TEST(PretrainConfig, UnknownKeysWrongTypesAndInconsistentValuesAreErrors) {
  json j = base();
  std::string e = error_of([&] { apply_run_config(j, json{{"stpes", 5}}, "run.json"); });
  EXPECT_NE(e.find("run.json"), std::string::npos) << e;
  EXPECT_NE(e.find("\"stpes\""), std::string::npos) << e;
  e = error_of([&] { apply_run_config(j, json{{"steps", "many"}}, "run.json"); });
  EXPECT_NE(e.find("\"steps\" must be an integer"), std::string::npos) << e;
  e = error_of([&] { apply_flag(j, key("lr"), "fast"); });
  EXPECT_NE(e.find("--lr"), std::string::npos) << e;
  e = error_of([&] { apply_flag(j, key("batch"), "8x"); });
  EXPECT_NE(e.find("--batch"), std::string::npos) << e;

  auto bad = [&](json patch, const std::string& expect) {
    json m = base();
    m.update(patch);
    std::string err = error_of([&] { parse_pretrain_config(m, "test"); });
    EXPECT_NE(err.find(expect), std::string::npos) << patch.dump() << ": " << err;
  };
  bad({{"warmup", 2000}}, "\"warmup\"");
  bad({{"min_lr", 1.0}}, "\"min_lr\"");
  bad({{"schedule", "linear"}}, "\"schedule\"");
  bad({{"batch", 0}}, "\"batch\"");
  bad({{"schedule", "wsd"}, {"steps", 100}, {"warmup", 90}, {"decay_fraction", 0.2}}, "wsd");
  bad({{"spike_factor", 0.5}}, "\"spike_factor\"");
  bad({{"debug_poison_windows", "9:3"}}, "\"debug_poison_windows\"");
  bad({{"data", ""}}, "\"data\"");
}

TEST(PretrainConfig, DefaultWarmupAdaptsToShortRunsAndAnExplicitOneIsChecked) {
  json j = base();
  apply_flag(j, key("steps"), "40");
  PretrainConfig c = parse_pretrain_config(j, "test");
  EXPECT_EQ(c.train.warmup, 4);                // min(100, 40 / 10)
  EXPECT_EQ(c.merged["warmup"], 4);            // saved resolved in run_config.json
  json long_run = base();
  apply_flag(long_run, key("steps"), "5000");
  EXPECT_EQ(parse_pretrain_config(long_run, "test").train.warmup, 100);
  apply_flag(j, key("warmup"), "100");
  std::string e = error_of([&] { parse_pretrain_config(j, "test"); });
  EXPECT_NE(e.find("\"warmup\" 100 exceeds \"steps\" 40"), std::string::npos) << e;
  json file = base();
  apply_run_config(file, json{{"warmup", nullptr}, {"steps", 40}}, "run.json");  // null = the default
  EXPECT_EQ(parse_pretrain_config(file, "test").train.warmup, 4);
}

TEST(PretrainConfig, SavedPathsAreAbsolute) {
  json j = base();
  j["init"] = "";
  json a = absolute_paths(j);
  const std::string cwd = std::filesystem::current_path().string();
  EXPECT_EQ(a["data"], cwd + "/d");
  EXPECT_EQ(a["out"], cwd + "/o");
  EXPECT_EQ(a["config"], cwd + "/c.json");
  EXPECT_EQ(a["init"], "");  // empty stays empty
  j["data"] = "/abs/../abs/data";
  EXPECT_EQ(absolute_paths(j)["data"], "/abs/data");
}

}  // namespace pretrain_config_test
