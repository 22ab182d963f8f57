// The generic Trainer: token-weighted grad accumulation, a two-module objective's checkpoints and exact
// resume, stretching a wsd run, resuming from a chosen checkpoint.
#include "baimo/train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "baimo/autograd/ops.h"
#include "baimo/train/checkpoint.h"
#include "baimo/train/objectives/toy.h"
#include "baimo/util/error.h"
#include "baimo/util/error_of.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace fs = std::filesystem;

namespace trainer_test {
using namespace baimo;
using namespace baimo::train;
using json = nlohmann::json;

// A linear regression p = x . w over a fixed list of samples, split into micro-batches of given sizes.
class SplitObjective : public Objective {
 public:
  explicit SplitObjective(std::vector<int64_t> sizes) : sizes_(std::move(sizes)) {
    w_ = ag::Var::leaf(Tensor::from_data({1, 3}, std::vector<float>{0.3f, -0.2f, 0.1f}));
  }
  std::vector<TrainModule> modules() override {
    TrainModule m;
    m.name = "policy";
    m.params = {{"w", w_}};
    m.groups = {{{w_}, false}};
    return {m};
  }
  int64_t draw(int64_t micro) override { return sizes_.at(micro); }
  MicroLoss forward(int64_t micro) override {
    int64_t first = 0;
    for (int64_t i = 0; i < micro; ++i) first += sizes_[i];
    const int64_t n = sizes_[micro];
    std::vector<float> x, y;
    for (int64_t i = first; i < first + n; ++i) {
      for (int k = 0; k < 3; ++k) x.push_back(std::sin(0.7f * static_cast<float>(i * 3 + k) + 0.3f));
      y.push_back(static_cast<float>(i) - 1.5f);
    }
    ag::Var xs = ag::Var::constant(Tensor::from_data({n, 3}, x)), ys = ag::Var::constant(Tensor::from_data({n, 1}, y));
    ag::Var d = ag::sub(ag::linear(xs, w_), ys);
    return {ag::mean(ag::mul(d, d)), {}};
  }
  json state() const override { return json::object(); }
  json restore(const json&, const std::string&, bool) override { return json::object(); }
  json trajectory() const override { return json::object(); }
  double tokens_per_micro_batch() const override { return 1; }
  std::vector<float> grad() const {
    Tensor g = w_.grad();
    return {g.data<float>(), g.data<float>() + 3};
  }

 private:
  std::vector<int64_t> sizes_;
  ag::Var w_;
};

std::vector<float> grads_of(std::vector<int64_t> sizes, float* loss) {
  SplitObjective obj(sizes);
  TrainerOptions o;
  o.grad_accum = static_cast<int64_t>(sizes.size());
  o.warmup = 0;
  Trainer trainer(obj, o);
  StepMetrics m;
  trainer.compute_gradients(m);
  *loss = m.loss;
  return obj.grad();
}

TrainerOptions toy_trainer_options(const std::string& out, int64_t steps) {
  TrainerOptions o;
  o.steps = steps;
  o.grad_accum = 2;
  o.lr = 0.05f;
  o.min_lr = 0.005f;
  o.warmup = 3;
  o.schedule = Schedule::Wsd;
  o.eval_interval = 5;
  o.checkpoint_interval = 4;
  o.out_dir = out;
  return o;
}

ToyObjectiveOptions toy_options() {
  ToyObjectiveOptions t;
  t.batch = 6;
  t.grad_accum = 2;
  t.seed = 3;
  return t;
}

struct ToyRun {
  std::vector<StepMetrics> steps;
  std::vector<float> weights;
};

ToyRun toy_run(const TrainerOptions& o, bool resume, int64_t stop_after = -1, const std::string& from = "") {
  ToyObjective obj(toy_options());
  Trainer trainer(obj, o);
  if (resume) trainer.resume(from);
  ToyRun r;
  struct Stop {};
  try {
    trainer.run([&](const StepMetrics& m) {
      r.steps.push_back(m);
      if (m.step == stop_after) throw Stop{};
    });
  } catch (const Stop&) {
  }
  for (const auto& p : obj.params()) r.weights.insert(r.weights.end(), p.value().data<float>(), p.value().data<float>() + p.numel());
  return r;
}

TEST(Trainer, GradAccumulationIsTokenWeighted) {
  // One batch of 4 samples against micro-batches of 1 and 3: the same loss and gradient.
  float big_loss = 0, split_loss = 0, other_loss = 0;
  std::vector<float> big = grads_of({4}, &big_loss), split = grads_of({1, 3}, &split_loss),
                     other = grads_of({3, 0, 1}, &other_loss);
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(split[k], big[k], 1e-5f * std::abs(big[k]) + 1e-6f) << k;
    EXPECT_NEAR(other[k], big[k], 1e-5f * std::abs(big[k]) + 1e-6f) << k;
  }
  EXPECT_NEAR(split_loss, big_loss, 1e-5f * big_loss);
  EXPECT_NEAR(other_loss, big_loss, 1e-5f * big_loss);
  // A mean of the two micro-batch means would weigh sample 0 three times as much: far from `big`.
  float l1 = 0;
  grads_of({1}, &l1);
  EXPECT_GT(std::abs(0.5f * (l1 + (4 * big_loss - l1) / 3) - big_loss), 1e-2f * big_loss);
}

TEST(Trainer, TwoModulesResumeBitIdentically) {
  TempDir tmp("baimo_trainer_toy_");
  const std::string full_dir = (tmp.dir / "full").string(), cut_dir = (tmp.dir / "cut").string();
  ToyRun full = toy_run(toy_trainer_options(full_dir, 14), false);
  ASSERT_EQ(full.steps.size(), 14u);
  EXPECT_LT(full.steps.back().loss, 0.5f * full.steps.front().loss);
  ASSERT_EQ(full.steps[0].metrics.size(), 2u);
  EXPECT_EQ(full.steps[0].metrics[0].first, "policy_loss");
  EXPECT_EQ(full.steps[0].metrics[1].first, "value_loss");

  toy_run(toy_trainer_options(cut_dir, 14), false, 10);  // a "kill" after step 10: the newest checkpoint is 8
  ToyRun resumed = toy_run(toy_trainer_options(cut_dir, 14), true);
  ASSERT_EQ(resumed.steps.size(), 6u);  // steps 9..14
  for (size_t i = 0; i < resumed.steps.size(); ++i) {
    EXPECT_EQ(resumed.steps[i].step, full.steps[i + 8].step);
    EXPECT_EQ(std::memcmp(&resumed.steps[i].loss, &full.steps[i + 8].loss, sizeof(float)), 0) << i;
  }
  ASSERT_EQ(resumed.weights.size(), full.weights.size());
  EXPECT_EQ(std::memcmp(resumed.weights.data(), full.weights.data(), full.weights.size() * 4), 0);

  // Layout: module 0 at the top, module "value" under modules/, each with its optimizer.
  const fs::path a = fs::path(full_dir) / "checkpoints" / "step_0000014", b = fs::path(cut_dir) / "checkpoints" / "step_0000014";
  for (const char* f : {"model.safetensors", "optimizer.safetensors", "modules/value/model.safetensors",
                        "modules/value/optimizer.safetensors"})
    EXPECT_EQ(read_file((a / f).string()), read_file((b / f).string())) << f;
  json state = json::parse(read_file((a / "trainer_state.json").string()));
  EXPECT_EQ(state["modules"], json::array({"policy", "value"}));
  EXPECT_EQ(state["objective"]["position"], 14 * 2 * 6);
}

TEST(Trainer, CheckpointOfOtherModulesIsAnError) {
  TempDir tmp("baimo_trainer_mod_");
  const std::string run = (tmp.dir / "run").string();
  toy_run(toy_trainer_options(run, 4), false);
  fs::remove(fs::path(run) / "checkpoints" / "step_0000004" / "modules" / "value" / "optimizer.safetensors");
  std::string e = error_of([&] { toy_run(toy_trainer_options(run, 8), true); });
  EXPECT_NE(e.find("modules/value/optimizer.safetensors"), std::string::npos) << e;
}

TEST(Trainer, WsdRunStretchesInItsStablePhaseOnly) {
  TempDir tmp("baimo_trainer_wsd_");
  const std::string long_dir = (tmp.dir / "long").string(), cut_dir = (tmp.dir / "cut").string();
  // 20 steps wsd (decay from step 16) against 10 steps (decay from 8) cut after step 8 and stretched to 20.
  ToyRun reference = toy_run(toy_trainer_options(long_dir, 20), false);
  toy_run(toy_trainer_options(cut_dir, 10), false, 8);
  ToyRun stretched = toy_run(toy_trainer_options(cut_dir, 20), true);
  ASSERT_EQ(stretched.steps.size(), 12u);
  EXPECT_EQ(std::memcmp(stretched.weights.data(), reference.weights.data(), reference.weights.size() * 4), 0);
  // Past the decay start: refused, naming the option and the reason.
  toy_run(toy_trainer_options(cut_dir, 20), false);  // fresh, to step 20 (checkpoint 20)
  auto shorter = toy_trainer_options(cut_dir, 30);
  std::string e = error_of([&] { toy_run(shorter, true); });
  EXPECT_NE(e.find("\"steps\""), std::string::npos) << e;
  EXPECT_NE(e.find("decay"), std::string::npos) << e;
  // Cosine never stretches.
  auto cosine = toy_trainer_options((tmp.dir / "cos").string(), 10);
  cosine.schedule = Schedule::Cosine;
  toy_run(cosine, false, 4);
  cosine.steps = 20;
  e = error_of([&] { toy_run(cosine, true); });
  EXPECT_NE(e.find("cosine"), std::string::npos) << e;
}

TEST(Trainer, ResumeFromAChosenCheckpointDropsLaterOnes) {
  TempDir tmp("baimo_trainer_from_");
  const std::string run = (tmp.dir / "run").string(), ref = (tmp.dir / "ref").string();
  ToyRun reference = toy_run(toy_trainer_options(ref, 12), false);
  toy_run(toy_trainer_options(run, 12), false);
  const std::string from = (fs::path(run) / "checkpoints" / "step_0000004").string();
  ToyRun again = toy_run(toy_trainer_options(run, 12), true, 6, from);
  ASSERT_EQ(again.steps.front().step, 5);
  auto left = list_checkpoints(run);
  ASSERT_EQ(left.back().step, 4) << "checkpoints after the chosen one must go";
  ToyRun rest = toy_run(toy_trainer_options(run, 12), true);
  EXPECT_EQ(std::memcmp(rest.weights.data(), reference.weights.data(), reference.weights.size() * 4), 0);
  std::string e = error_of([&] { toy_run(toy_trainer_options(run, 12), true, -1, run + "/nowhere"); });
  EXPECT_NE(e.find("nowhere"), std::string::npos) << e;
}

// The held-out evaluation before the first step is metrics.jsonl's first line, an "eval" event of
// step 0 (not a training step), and a resumed run keeps it once.
TEST(Trainer, EvaluationBeforeTrainingStartsTheMetrics) {
  TempDir tmp("baimo_trainer_eval0_");
  const std::string run = (tmp.dir / "run").string();
  const fs::path metrics = fs::path(run) / "metrics.jsonl";
  float before = 0;
  {
    ToyObjective obj(toy_options());
    Trainer trainer(obj, toy_trainer_options(run, 12));
    ASSERT_FALSE(trainer.resume());
    const std::optional<float> v = trainer.evaluate_before_training(nullptr);
    ASSERT_TRUE(v);
    before = *v;
    struct Stop {};
    try {
      trainer.run([&](const StepMetrics& m) {
        if (m.step == 6) throw Stop{};
      });
    } catch (const Stop&) {
    }
  }
  toy_run(toy_trainer_options(run, 12), true);
  std::vector<json> lines;
  std::istringstream in(read_file(metrics.string()));
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(json::parse(l));
  ASSERT_GE(lines.size(), 13u);
  EXPECT_EQ(lines[0]["event"], "eval");
  EXPECT_EQ(lines[0]["step"], 0);
  EXPECT_FLOAT_EQ(lines[0]["val_loss"].get<float>(), before);
  EXPECT_FALSE(lines[0].contains("loss"));
  size_t evals = 0;
  for (const json& j : lines) evals += j.contains("event") && j["event"] == "eval";
  EXPECT_EQ(evals, 1u);
  EXPECT_EQ(lines[1]["step"], 1);
  EXPECT_EQ(lines.back()["step"], 12);
}

namespace {
// The toy plus a frozen "reference" module (weights only, no optimizer), as PPO's reference policy.
class ToyWithReference : public ToyObjective {
 public:
  explicit ToyWithReference(float a) : ToyObjective(toy_options()) {
    anchor_ = ag::Var::leaf(Tensor::from_data({2}, std::vector<float>{a, -a}), false);
  }
  std::vector<TrainModule> modules() override {
    std::vector<TrainModule> m = ToyObjective::modules();
    TrainModule r;
    r.name = "reference";
    r.params = {{"anchor", anchor_}};
    m.push_back(r);
    return m;
  }
  float anchor(int i) const { return anchor_.value().data<float>()[i]; }

 private:
  ag::Var anchor_;
};
}  // namespace

TEST(Trainer, FrozenModuleIsCheckpointedWithoutOptimizer) {
  TempDir tmp("baimo_trainer_frozen_");
  const std::string run = (tmp.dir / "run").string();
  {
    ToyWithReference obj(1.5f);
    Trainer trainer(obj, toy_trainer_options(run, 4));
    trainer.run([](const StepMetrics&) {});
  }
  const fs::path ckpt = fs::path(run) / "checkpoints" / "step_0000004";
  EXPECT_TRUE(fs::exists(ckpt / "modules" / "reference" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(ckpt / "modules" / "reference" / "optimizer.safetensors"));
  EXPECT_EQ(json::parse(read_file((ckpt / "trainer_state.json").string()))["modules"],
            json::array({"policy", "value", "reference"}));
  ToyWithReference other(0.0f);
  Trainer resumed(other, toy_trainer_options(run, 4));
  ASSERT_EQ(resumed.resume(), 4);
  EXPECT_EQ(other.anchor(0), 1.5f);
  EXPECT_EQ(other.anchor(1), -1.5f);
  // A run whose objective has other modules than the checkpoint: an error naming the field.
  ToyObjective two(toy_options());
  Trainer mismatch(two, toy_trainer_options(run, 4));
  std::string e = error_of([&] { mismatch.resume(); });
  EXPECT_NE(e.find("\"modules\""), std::string::npos) << e;
}

}  // namespace trainer_test
