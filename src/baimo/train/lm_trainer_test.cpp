#include "baimo/train/lm_trainer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "baimo/model/config.h"
#include "baimo/train/trainer_test_util.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace fs = std::filesystem;
using namespace baimo;

using test::make_dataset;
using test::micro_config;

TEST(LmTrainer, LossFallsAndMetricsAreWritten) {
  auto dir = make_dataset("baimo_trainer_");
  TokenDataset train(dir, "train"), val(dir, "val");
  Transformer model = Transformer::random(micro_config(16), 3);
  train::LmTrainOptions o;
  o.steps = 60;
  o.batch = 4;
  o.seq = 24;
  o.lr = 1e-2f;
  o.min_lr = 1e-3f;
  o.warmup = 5;
  o.eval_interval = 30;
  o.eval_batches = 2;
  o.out_dir = dir + "/run";
  train::LmTrainer trainer(model, train, &val, o);
  float first_val = trainer.evaluate();
  std::vector<train::StepMetrics> seen;
  trainer.run([&](const train::StepMetrics& m) { seen.push_back(m); });
  ASSERT_EQ(seen.size(), 60u);
  EXPECT_TRUE(seen[29].has_val);
  EXPECT_FALSE(seen[30].has_val);
  ASSERT_TRUE(seen.back().has_val);
  EXPECT_LT(seen.back().val_loss, 0.5f * first_val) << "first " << first_val << " last " << seen.back().val_loss;
  EXPECT_GT(seen.back().grad_norm, 0.0f);
  std::string metrics = read_file(o.out_dir + "/metrics.jsonl");
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 60);
  EXPECT_NE(metrics.find("\"val_ppl\""), std::string::npos);
  fs::remove_all(dir);
}

TEST(LmTrainer, BadOptionsAreClearErrors) {
  auto dir = make_dataset("baimo_trainer_bad_");
  TokenDataset train(dir, "train");
  Transformer model = Transformer::random(micro_config(16), 3);
  train::LmTrainOptions o;
  o.seq = 1000;  // > max_position_embeddings
  EXPECT_THROW(train::LmTrainer(model, train, nullptr, o), Error);
  Transformer small_vocab = Transformer::random(micro_config(8), 3);
  o.seq = 8;
  EXPECT_THROW(train::LmTrainer(small_vocab, train, nullptr, o), Error);
  fs::remove_all(dir);
}
