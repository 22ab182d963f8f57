#include "baimo/train/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "baimo/train/param_groups.h"
#include "baimo/train/trainer_test_util.h"
#include "baimo/util/error.h"
#include "baimo/util/error_of.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace fs = std::filesystem;

namespace train_checkpoint_test {
using namespace baimo;
using json = nlohmann::json;

// A model and an optimizer whose moments hold distinct values.
struct ModelAndOptimizer {
  Transformer model = Transformer::random(test::micro_config(16), 11);
  train::AdamW opt{train::adamw_groups(model), {}};
  ModelAndOptimizer() {
    for (size_t i = 0; i < opt.num_params(); ++i) {
      float* m = opt.exp_avg(i).data<float>();
      float* v = opt.exp_avg_sq(i).data<float>();
      for (int64_t k = 0; k < opt.exp_avg(i).numel(); ++k) {
        m[k] = 0.001f * static_cast<float>(i * 31 + k);
        v[k] = 1e-6f * static_cast<float>(i + k % 7);
      }
    }
    opt.set_steps(7);
  }
};

TEST(Checkpoint, RoundTripRestoresWeightsMomentsAndState) {
  TempDir tmp("baimo_ckpt_rt_");
  ModelAndOptimizer a;
  json state = {{"custom", 1.25}, {"nested", {{"x", 3}}}};
  std::string path = save_checkpoint(tmp.dir.string(), 42, a.model, a.opt, state);
  EXPECT_EQ(fs::path(path).filename(), "step_0000042");
  for (const char* f : {"config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json"})
    EXPECT_TRUE(fs::exists(fs::path(path) / f)) << f;

  Transformer b_model(test::micro_config(16));  // zeros
  train::AdamW b_opt(train::adamw_groups(b_model), {});
  json loaded = load_checkpoint(path, b_model, b_opt);
  EXPECT_EQ(loaded["step"], 42);
  EXPECT_EQ(loaded["custom"], 1.25);
  EXPECT_EQ(loaded["nested"]["x"], 3);
  EXPECT_EQ(b_opt.steps(), 7);
  for (size_t i = 0; i < a.model.params().size(); ++i) {
    const auto& pa = a.model.params()[i].var;
    const auto& pb = b_model.params()[i].var;
    ASSERT_EQ(std::memcmp(pa.value().data<float>(), pb.value().data<float>(), pa.numel() * 4), 0);
  }
  for (size_t i = 0; i < a.opt.num_params(); ++i) {
    ASSERT_EQ(std::memcmp(a.opt.exp_avg(i).data<float>(), b_opt.exp_avg(i).data<float>(), a.opt.exp_avg(i).nbytes()), 0);
    ASSERT_EQ(std::memcmp(a.opt.exp_avg_sq(i).data<float>(), b_opt.exp_avg_sq(i).data<float>(),
                          a.opt.exp_avg_sq(i).nbytes()), 0);
  }
}

TEST(Checkpoint, LatestIgnoresTempLeftoversAndPruneKeepsNewest) {
  TempDir tmp("baimo_ckpt_list_");
  ModelAndOptimizer a;
  const std::string run = tmp.dir.string();
  EXPECT_FALSE(latest_checkpoint(run));
  for (int64_t s : {5, 10, 15}) save_checkpoint(run, s, a.model, a.opt, json::object());
  // A writer killed mid-way leaves a temp dir; the newest complete checkpoint is still 15.
  fs::create_directories(tmp.dir / "checkpoints" / ".tmp_step_0000020.999");
  fs::create_directories(tmp.dir / "checkpoints" / "not_a_step");
  EXPECT_EQ(latest_checkpoint(run)->step, 15);
  clean_checkpoint_temps(run);
  EXPECT_FALSE(fs::exists(tmp.dir / "checkpoints" / ".tmp_step_0000020.999"));
  prune_checkpoints(run, 2);
  auto all = list_checkpoints(run);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].step, 10);
  EXPECT_EQ(all[1].step, 15);
  // Saving the same step again replaces it.
  save_checkpoint(run, 15, a.model, a.opt, json{{"again", true}});
  ModelAndOptimizer b;
  EXPECT_EQ(load_checkpoint(all[1].path, b.model, b.opt)["again"], true);
}

TEST(Checkpoint, CorruptFilesAreErrorsNamingTheFileAndField) {
  TempDir tmp("baimo_ckpt_bad_");
  ModelAndOptimizer a;
  const std::string run = tmp.dir.string();
  const fs::path dir = save_checkpoint(run, 3, a.model, a.opt, json::object());
  const std::string opt_file = (dir / "optimizer.safetensors").string(), state_file = (dir / "trainer_state.json").string();
  const std::string good_opt = read_file(opt_file), good_state = read_file(state_file);
  auto load_error = [&] {
    ModelAndOptimizer b;
    return error_of([&] { load_checkpoint(dir.string(), b.model, b.opt); });
  };

  write_file_atomic(opt_file, good_opt.substr(0, good_opt.size() / 2));  // truncated
  std::string e = load_error();
  EXPECT_NE(e.find("optimizer.safetensors"), std::string::npos) << e;

  // A moment missing (another checkpoint's optimizer of a different model shape would look alike).
  Transformer other = Transformer::random(test::micro_config(12), 1);
  train::AdamW other_opt(train::adamw_groups(other), {});
  save_checkpoint((tmp.dir / "other").string(), 3, other, other_opt, json::object());
  fs::copy_file(tmp.dir / "other" / "checkpoints" / "step_0000003" / "optimizer.safetensors", opt_file,
                fs::copy_options::overwrite_existing);
  e = load_error();
  EXPECT_NE(e.find("optimizer.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("exp_avg/"), std::string::npos) << e;
  write_file_atomic(opt_file, good_opt);

  write_file_atomic(state_file, "{\"step\": 3");  // truncated JSON
  e = load_error();
  EXPECT_NE(e.find("trainer_state.json"), std::string::npos) << e;
  write_file_atomic(state_file, "{\"step\": 4}");
  e = load_error();
  EXPECT_NE(e.find("\"step\""), std::string::npos) << e;
  EXPECT_NE(e.find("step_0000003"), std::string::npos) << e;
  write_file_atomic(state_file, good_state);

  fs::remove(dir / "model.safetensors");
  e = load_error();
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;

  // A checkpoint of another model's config.
  ModelAndOptimizer c;
  e = error_of([&] {
    load_checkpoint((tmp.dir / "other" / "checkpoints" / "step_0000003").string(), c.model, c.opt);
  });
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
}

}  // namespace train_checkpoint_test
