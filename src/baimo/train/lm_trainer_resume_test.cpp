// LmTrainer checkpoints, exact resume, the spike guard (injected through the poison hook) and rollback.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "baimo/train/checkpoint.h"
#include "baimo/train/lm_trainer.h"
#include "baimo/train/trainer_test_util.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace fs = std::filesystem;

namespace lm_trainer_resume_test {
using namespace baimo;
using json = nlohmann::json;

train::LmTrainOptions small_options(const std::string& out) {
  train::LmTrainOptions o;
  o.steps = 12;
  o.batch = 4;
  o.seq = 16;
  o.lr = 1e-2f;
  o.min_lr = 1e-3f;
  o.warmup = 2;
  o.eval_interval = 6;
  o.eval_batches = 1;
  o.checkpoint_interval = 4;
  o.out_dir = out;
  o.spike.warmup = 3;
  return o;
}

std::vector<float> weights(const Transformer& m) {
  std::vector<float> out;
  for (const auto& p : m.params()) {
    const float* d = p.var.value().data<float>();
    out.insert(out.end(), d, d + p.var.numel());
  }
  return out;
}

struct RunResult {
  std::vector<train::StepMetrics> steps;
  std::vector<float> final_weights;
};

// Trains from scratch (or resumes from out's newest checkpoint) to the end.
RunResult train_run(const std::string& data, const train::LmTrainOptions& o, bool resume, int64_t stop_after = -1) {
  TokenDataset train(data, "train"), val(data, "val");
  Transformer model = Transformer::random(test::micro_config(16), 5);
  train::LmTrainer trainer(model, train, &val, o);
  if (resume) trainer.resume();
  RunResult r;
  struct Stop {};
  try {
    trainer.run([&](const train::StepMetrics& m) {
      r.steps.push_back(m);
      if (stop_after > 0 && m.step == stop_after) throw Stop{};  // a "kill" right after this step
    });
  } catch (const Stop&) {
  }
  r.final_weights = weights(model);
  return r;
}

std::vector<json> metric_lines(const std::string& out) {
  std::vector<json> lines;
  std::string text = read_file(out + "/metrics.jsonl");
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    lines.push_back(json::parse(text.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return lines;
}

TEST(LmTrainerResume, ResumeIsBitIdentical) {
  auto data = test::make_dataset("baimo_resume_");
  RunResult full = train_run(data, small_options(data + "/full"), false);
  // Interrupted after step 7 (the newest checkpoint is step 4), then resumed.
  train_run(data, small_options(data + "/cut"), false, 7);
  EXPECT_EQ(latest_checkpoint(data + "/cut")->step, 4);
  RunResult resumed = train_run(data, small_options(data + "/cut"), true);
  ASSERT_EQ(resumed.steps.size(), 8u);  // steps 5..12
  for (size_t i = 0; i < resumed.steps.size(); ++i) {
    EXPECT_EQ(resumed.steps[i].step, full.steps[i + 4].step);
    EXPECT_EQ(std::memcmp(&resumed.steps[i].loss, &full.steps[i + 4].loss, sizeof(float)), 0) << i;
    EXPECT_EQ(std::memcmp(&resumed.steps[i].grad_norm, &full.steps[i + 4].grad_norm, sizeof(float)), 0) << i;
  }
  ASSERT_EQ(resumed.final_weights.size(), full.final_weights.size());
  EXPECT_EQ(std::memcmp(resumed.final_weights.data(), full.final_weights.data(), full.final_weights.size() * 4), 0);
  // metrics.jsonl: the resumed run's lines after step 4 replaced, so both files hold the same losses.
  auto a = metric_lines(data + "/full"), b = metric_lines(data + "/cut");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["step"], b[i]["step"]);
    EXPECT_EQ(a[i]["loss"], b[i]["loss"]);
  }
  // Checkpoints at 0, 4, 8, 12; the final files equal.
  EXPECT_EQ(read_file(data + "/full/checkpoints/step_0000012/model.safetensors"),
            read_file(data + "/cut/checkpoints/step_0000012/model.safetensors"));
  EXPECT_EQ(read_file(data + "/full/checkpoints/step_0000012/optimizer.safetensors"),
            read_file(data + "/cut/checkpoints/step_0000012/optimizer.safetensors"));
  fs::remove_all(data);
}

TEST(LmTrainerResume, ChangedTrajectoryOptionIsAnError) {
  auto data = test::make_dataset("baimo_resume_opt_");
  train_run(data, small_options(data + "/run"), false, 5);
  auto o = small_options(data + "/run");
  o.batch = 2;
  try {
    train_run(data, o, true);
    FAIL() << "changed batch accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"batch\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("trainer_state.json"), std::string::npos) << e.what();
  }
  fs::remove_all(data);
}

TEST(LmTrainerResume, SingleSpikeSkipsTheUpdate) {
  auto data = test::make_dataset("baimo_spike_");
  auto o = small_options(data + "/run");
  o.steps = 8;
  o.spike.patience = 0;  // never roll back
  // Step 6 (1-based) draws windows [20, 24): scale its loss by 50.
  o.poison_begin = 20;
  o.poison_end = 21;
  o.poison_scale = 50.0f;
  TokenDataset train(data, "train"), val(data, "val");
  Transformer model = Transformer::random(test::micro_config(16), 5);
  train::LmTrainer trainer(model, train, &val, o);
  std::vector<float> before;
  std::vector<train::StepMetrics> seen;
  int64_t opt_steps_before = -1;
  trainer.run([&](const train::StepMetrics& m) {
    seen.push_back(m);
    if (m.step == 5) {
      before = weights(model);
      opt_steps_before = trainer.optimizer().steps();
    }
    if (m.step == 6) {
      EXPECT_EQ(weights(model), before) << "a skipped update changed the weights";
      EXPECT_EQ(trainer.optimizer().steps(), opt_steps_before);
    }
  });
  ASSERT_EQ(seen.size(), 8u);
  EXPECT_TRUE(seen[5].skipped);
  EXPECT_EQ(seen[5].skip_reason, "spike");
  for (size_t i = 0; i < seen.size(); ++i)
    if (i != 5) {
      EXPECT_FALSE(seen[i].skipped) << i;
    }
  auto lines = metric_lines(o.out_dir);
  int skip_events = 0;
  for (const auto& l : lines)
    if (l.contains("event") && l["event"] == "skip") {
      ++skip_events;
      EXPECT_EQ(l["step"], 6);
      EXPECT_EQ(l["reason"], "spike");
    }
  EXPECT_EQ(skip_events, 1);
  fs::remove_all(data);
}

TEST(LmTrainerResume, NonFiniteLossesRollBackAndSkipTheData) {
  auto data = test::make_dataset("baimo_rollback_");
  auto o = small_options(data + "/run");
  o.steps = 14;
  o.spike.patience = 2;
  o.checkpoint_interval = 4;
  // Steps 6, 7 and 8 (1-based) draw windows [20, 32): NaN losses. After steps 6 and 7 are skipped the
  // trainer rolls back to step 4 with the sampler left at window 28, so the rest is clean.
  o.poison_begin = 20;
  o.poison_end = 32;
  o.poison_scale = std::numeric_limits<float>::quiet_NaN();
  RunResult r = train_run(data, o, false);
  int rollbacks = 0;
  for (const auto& l : metric_lines(o.out_dir))
    if (l.contains("event") && l["event"] == "rollback") {
      ++rollbacks;
      EXPECT_EQ(l["step"], 7);
      EXPECT_EQ(l["to_step"], 4);
      EXPECT_EQ(l["skipped_windows"], json::array({16, 28}));
    }
  EXPECT_EQ(rollbacks, 1);
  // The windows after the rollback: 28..31 are still poisoned (step 5 again), then clean.
  // Seen: 1..5, 6 (skip), 7 (skip + rollback), 5 (skip: windows 28..31), 6.. 14 clean.
  ASSERT_GE(r.steps.size(), 3u);
  EXPECT_TRUE(r.steps[6].rolled_back);
  EXPECT_EQ(r.steps.back().step, 14);
  EXPECT_FALSE(r.steps.back().skipped);
  for (float w : r.final_weights) ASSERT_TRUE(std::isfinite(w));
  fs::remove_all(data);
}

TEST(LmTrainerResume, TooManyRollbacksIsAnError) {
  auto data = test::make_dataset("baimo_rollback_max_");
  auto o = small_options(data + "/run");
  o.spike.patience = 1;
  o.max_rollbacks = 2;
  o.poison_begin = 0;
  o.poison_end = 1'000'000;  // every window poisoned
  o.poison_scale = std::numeric_limits<float>::infinity();
  EXPECT_THROW(train_run(data, o, false), Error);
  fs::remove_all(data);
}

}  // namespace lm_trainer_resume_test
