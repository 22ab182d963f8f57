#include "baimo/model/transformer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "baimo/autograd/tape.h"
#include "baimo/model/lm_loss.h"
#include "baimo/model/tiny_config_test_util.h"
#include "baimo/train/optimizer.h"
#include "baimo/train/param_groups.h"
#include "baimo/util/error.h"

namespace fs = std::filesystem;

namespace transformer_test {
using namespace baimo;

Tensor random_ids(int64_t B, int64_t T, int64_t V, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> v(static_cast<size_t>(B * T));
  for (auto& x : v) x = static_cast<int32_t>(rng() % V);
  return Tensor::from_ids({B, T}, v);
}

std::vector<float> copy_values(const ag::Var& v) {
  const float* p = v.value().data<float>();
  return {p, p + v.numel()};
}

ModelConfig qwen_like() { return baimo::testing::tiny_qwen2(2, 16); }

// The proof that the whole stack learns: the tiny model memorises one fixed batch.
TEST(Transformer, TinyModelOverfitsOneBatch) {
  ModelConfig cfg = load_model_config(std::string(BAIMO_SOURCE_DIR) + "/configs/tiny.json");
  Transformer model = Transformer::random(cfg, 1);
  // Each row is a fixed random sequence; the targets are the inputs shifted by one.
  Tensor seq = random_ids(4, 33, cfg.vocab_size, 7);
  std::vector<int32_t> in, tg;
  for (int64_t b = 0; b < 4; ++b)
    for (int64_t t = 0; t < 32; ++t) {
      in.push_back(seq.data<int32_t>()[b * 33 + t]);
      tg.push_back(seq.data<int32_t>()[b * 33 + t + 1]);
    }
  Tensor ids = Tensor::from_ids({4, 32}, in), targets = Tensor::from_ids({4, 32}, tg);
  train::AdamW opt(train::adamw_groups(model), {0.9f, 0.95f, 1e-8f, 0.0f});
  float first = 0, loss_value = 1e9f;
  int step = 0;
  auto start = std::chrono::steady_clock::now();
  for (; step < 300 && loss_value >= 0.05f; ++step) {
    opt.zero_grad();
    ag::Var loss = lm_loss(model, ids, targets);
    ag::backward(loss);
    loss_value = loss.item();
    if (step == 0) first = loss_value;
    opt.step(3e-3f);
    ag::reset_step();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NEAR(first, std::log(static_cast<float>(cfg.vocab_size)), 0.1);  // a fresh model is uniform-ish
  EXPECT_LT(loss_value, 0.05f) << "after " << step << " steps";
  std::printf("tiny model: loss %.3f -> %.4f in %d steps, %.2f s\n", first, loss_value, step, secs);
}

TEST(Transformer, SaveLoadGivesIdenticalLogits) {
  fs::path dir = fs::temp_directory_path() / ("baimo_tf_" + std::to_string(::getpid()));
  ModelConfig cfg = qwen_like();
  Transformer a = Transformer::random(cfg, 3);
  a.save(dir.string());
  Transformer b = Transformer::load(dir.string());
  Tensor ids = random_ids(2, 16, cfg.vocab_size, 1);
  ag::NoGradGuard no_grad;
  std::vector<float> la = copy_values(a.logits(ids)), lb = copy_values(b.logits(ids));
  EXPECT_EQ(la, lb);
  ag::reset_step();
  fs::remove_all(dir);
}

TEST(Transformer, TiedEmbeddingGetsBothGradients) {
  ModelConfig cfg = qwen_like();
  Transformer m = Transformer::random(cfg, 5);
  EXPECT_THROW(m.param("lm_head.weight"), Error);
  Tensor ids = random_ids(1, 8, cfg.vocab_size, 2);
  // Tokens that never appear as input still get a gradient through the (tied) output layer.
  std::vector<bool> seen(cfg.vocab_size, false);
  for (int64_t i = 0; i < 8; ++i) seen[ids.data<int32_t>()[i]] = true;
  int64_t unseen = 0;
  while (seen[unseen]) ++unseen;
  std::vector<ag::Var> params = m.param_vars();
  ag::zero_grad(params);
  ag::backward(lm_loss(m, ids, random_ids(1, 8, cfg.vocab_size, 3)));
  Tensor g = m.param("model.embed_tokens.weight").grad();
  float row = 0;
  for (int64_t c = 0; c < cfg.hidden_size; ++c) row += std::fabs(g.data<float>()[unseen * cfg.hidden_size + c]);
  EXPECT_GT(row, 0.0f);
  ag::reset_step();
}

TEST(Transformer, RejectsBadInput) {
  ModelConfig cfg = qwen_like();
  Transformer m = Transformer::random(cfg, 5);
  ag::NoGradGuard no_grad;
  EXPECT_THROW(m.logits(random_ids(1, 17, cfg.vocab_size, 1)), Error);  // longer than the context
  std::vector<int32_t> bad = {1, 2, 64};
  EXPECT_THROW(m.logits(Tensor::from_ids({1, 3}, bad)), Error);         // id outside the vocabulary
  ag::reset_step();
}

}  // namespace transformer_test
