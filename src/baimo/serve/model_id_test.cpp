#include "baimo/serve/model_id.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace baimo::serve {
namespace model_id_test {
namespace fs = std::filesystem;

struct TempDir {
  fs::path root = fs::temp_directory_path() / ("baimo_model_id_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(root); }
  ~TempDir() { fs::remove_all(root); }
};

TEST(ModelId, TrainingRunOutputsAreNamedAfterTheRun) {
  TempDir t;
  fs::create_directories(t.root / "runs/tiny/final");
  fs::create_directories(t.root / "runs/tiny/checkpoints/step_0000040");
  EXPECT_EQ(default_model_id((t.root / "runs/tiny/final").string()), "tiny");
  EXPECT_EQ(default_model_id((t.root / "runs/tiny/final/").string()), "tiny");
  EXPECT_EQ(default_model_id((t.root / "runs/tiny/checkpoints/step_0000040").string()), "tiny-step_0000040");
  // Relative to the working directory.
  const fs::path cwd = fs::current_path();
  fs::current_path(t.root / "runs/tiny");
  EXPECT_EQ(default_model_id("final"), "tiny");
  fs::current_path(t.root / "runs/tiny/final");
  EXPECT_EQ(default_model_id("."), "tiny");
  fs::current_path(cwd);
}

TEST(ModelId, DirectoriesAndGgufFiles) {
  TempDir t;
  fs::create_directories(t.root / "models/qwen");
  std::ofstream(t.root / "models/x.gguf") << "GGUF";
  EXPECT_EQ(default_model_id((t.root / "models/qwen/").string()), "qwen");
  EXPECT_EQ(default_model_id((t.root / "models/x.gguf").string()), "x");
}

}  // namespace model_id_test

}  // namespace baimo::serve
