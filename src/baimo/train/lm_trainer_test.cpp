#include "baimo/train/lm_trainer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "baimo/model/config.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace fs = std::filesystem;
using namespace baimo;

namespace {
ModelConfig micro_config(int64_t vocab) {
  return parse_model_config_text(R"({"model_type": "llama", "vocab_size": )" + std::to_string(vocab) +
                                     R"(, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
      "rms_norm_eps": 1e-5, "tie_word_embeddings": true})",
                                 "micro");
}

// Documents of a deterministic pattern the model can learn: 1 2 3 ... 12, repeated.
std::string make_dataset(const char* name) {
  auto dir = (fs::temp_directory_path() / (name + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  ShardIndex ix;
  ix.vocab_size = 16;
  ix.eot_id = 0;
  for (const char* split : {"train", "val"}) {
    ShardWriter w(dir, split, ix, 1000);
    for (int d = 0; d < 20; ++d) {
      std::vector<int32_t> doc;
      for (int r = 0; r < 3; ++r)
        for (int i = 1; i <= 12; ++i) doc.push_back(i);
      w.add_document(doc);
    }
    w.finish();
  }
  ix.save(dir);
  return dir;
}
}  // namespace

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
