#include "baimo/infer/engine.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>

#include "baimo/autograd/tape.h"
#include "baimo/model/transformer.h"
#include "baimo/util/error.h"

namespace engine_test {
using namespace baimo;

ModelConfig base_config() {
  ModelConfig c;
  c.model_type = "llama";
  c.vocab_size = 96;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 4;
  c.head_dim = 16;
  c.max_position_embeddings = 160;
  c.rope_theta = 10000.0;
  return c;
}

ModelConfig gqa_bias_tied() {  // Qwen2-style
  ModelConfig c = base_config();
  c.model_type = "qwen2";
  c.num_key_value_heads = 2;
  c.qkv_bias = true;
  c.tie_word_embeddings = true;
  c.rope_theta = 1000000.0;
  return c;
}

ModelConfig llama_attention_bias() {  // bias on q, k, v and o; 8 heads over 1 kv head
  ModelConfig c = base_config();
  c.num_attention_heads = 8;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.qkv_bias = true;
  c.o_bias = true;
  return c;
}

std::vector<int32_t> random_ids(size_t n, int64_t V, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = static_cast<int32_t>(rng() % V);
  return v;
}

// Transformer::logits of the whole sequence: (T, V).
std::vector<float> reference_logits(const Transformer& m, const std::vector<int32_t>& ids) {
  ag::NoGradGuard no_grad;
  ag::Var l = m.logits(Tensor::from_ids({1, static_cast<int64_t>(ids.size())}, ids));
  const float* p = l.value().data<float>();
  return {p, p + l.numel()};
}

void expect_row_near(const float* got, const float* want, int64_t V, float tol, const std::string& what) {
  float worst = 0, scale = 0;
  for (int64_t i = 0; i < V; ++i) {
    worst = std::max(worst, std::fabs(got[i] - want[i]));
    scale = std::max(scale, std::fabs(want[i]));
  }
  EXPECT_LE(worst, tol * std::max(1.0f, scale)) << what;
}

// Feeds three slots with different prompt lengths through mixed steps (prefill chunks alongside decode
// tokens) and checks every logits row against the full forward pass over the same prefix.
// Runs the calling thread's next OpenMP regions on n threads; restores the count on exit.
struct OmpThreads {
  int saved = omp_get_max_threads();
  explicit OmpThreads(int n) { omp_set_num_threads(n); }
  ~OmpThreads() { omp_set_num_threads(saved); }
};

// threads > 0: the engine runs every step on that many threads (parallel_macs 0), so that decode
// steps go through the one-region path (engine_team.cpp) with a real team.
void check_matches_full_forward(const ModelConfig& cfg, uint64_t seed, int threads = 0) {
  // Larger init than the default 0.02 so that attention is far from uniform and mistakes show.
  ModelConfig c = cfg;
  c.initializer_range = 0.2;
  Transformer model = Transformer::random(c, seed);
  const int64_t V = c.vocab_size;
  auto weights = std::make_shared<const ModelWeights>(weights_from_transformer(model));
  OmpThreads team(threads > 0 ? threads : omp_get_max_threads());
  Engine engine(weights, 3, 150);
  if (threads > 0) engine.set_parallel_macs(0);
  std::vector<std::vector<int32_t>> seqs = {random_ids(140, V, 1), random_ids(100, V, 2), random_ids(60, V, 3)};
  std::vector<std::vector<float>> full;
  for (auto& s : seqs) full.push_back(reference_logits(model, s));
  std::vector<size_t> done(3, 0);
  std::vector<float> logits;
  // Step plan per slot: chunk sizes (1 = decode step); 0 = idle this step. Steps 4 (22 rows, 3 logits
  // rows) and 5 (16 rows, all logits) are steps of 16 to 31 rows: one parallel region
  // (forward_team) and the float kernels' 4x4 tiles, not BLAS.
  const std::vector<std::vector<size_t>> plan = {
      {70, 1, 1, 64, 1, 1, 1, 1},   // slot 0: prefill 70, decode, a long chunk, decode
      {5, 17, 1, 1, 1, 14, 60, 1},  // slot 1
      {0, 33, 1, 0, 20, 1, 1, 1},   // slot 2
  };
  for (size_t step = 0; step < plan[0].size(); ++step) {
    std::vector<Engine::Chunk> chunks;
    for (int s = 0; s < 3; ++s) {
      size_t n = plan[s][step];
      if (n == 0) continue;
      ASSERT_LE(done[s] + n, seqs[s].size());
      bool all = (step % 2 == 1);
      chunks.push_back({s, std::span<const int32_t>(seqs[s].data() + done[s], n), all});
    }
    engine.forward(chunks, logits);
    size_t row = 0;
    for (const auto& ch : chunks) {
      const size_t n = ch.tokens.size();
      for (size_t t = ch.all_logits ? 0 : n - 1; t < n; ++t, ++row) {
        const size_t pos = done[ch.slot] + t;
        expect_row_near(logits.data() + row * V, full[ch.slot].data() + pos * V, V, 2e-4f,
                        fmt::format("step {} slot {} position {}", step, ch.slot, pos));
      }
      done[ch.slot] += n;
      EXPECT_EQ(engine.cache().length(ch.slot), static_cast<int64_t>(done[ch.slot]));
    }
    EXPECT_EQ(row * V, logits.size());
  }
}

TEST(Engine, MatchesFullForwardMultiHead) { check_matches_full_forward(base_config(), 5); }
TEST(Engine, MatchesFullForwardGqaQkvBiasTied) { check_matches_full_forward(gqa_bias_tied(), 6); }
TEST(Engine, MatchesFullForwardOneKvHeadAttentionBias) { check_matches_full_forward(llama_attention_bias(), 7); }
TEST(Engine, MatchesFullForwardOnThreeThreads) {
  check_matches_full_forward(base_config(), 5, 3);
  check_matches_full_forward(gqa_bias_tied(), 6, 3);
  check_matches_full_forward(llama_attention_bias(), 7, 2);
}

// Quantized weights: decode steps and short chunks (one parallel region per step, 3 threads) give
// the logits that one long chunk gives (op by op, parallel products), up to f32 rounding: the same
// kernels see the same quantized rows.
TEST(Engine, QuantizedDecodeMatchesPrefillPath) {
  ModelConfig c = gqa_bias_tied();
  c.initializer_range = 0.2;
  Transformer model = Transformer::random(c, 12);
  const std::vector<int32_t> ids = random_ids(40, c.vocab_size, 13);
  const int64_t V = c.vocab_size;
  OmpThreads team(3);
  for (DType t : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0}) {
    auto w = std::make_shared<const ModelWeights>(weights_from_transformer(model, t));
    Engine engine(w, 2, 128);
    engine.set_parallel_macs(0);
    std::vector<float> want, got, logits;
    Engine::Chunk whole{0, ids, true};
    engine.forward(std::span(&whole, 1), want);  // 40 rows: op by op
    // Slot 1: chunks of 5 and 3, then single tokens (with slot 0 idle), all below 16 rows.
    size_t done = 0;
    for (size_t len : {5, 3, 1, 1, 1, 1, 1, 1, 1, 1}) {
      Engine::Chunk ch{1, std::span<const int32_t>(ids.data() + done, len), true};
      engine.forward(std::span(&ch, 1), logits);
      got.insert(got.end(), logits.begin(), logits.end());
      done += len;
    }
    // A longer chunk on slot 0 grows the step buffers; the next single-token steps (the same step
    // shape as before) must not use the old ones.
    const std::vector<int32_t> more = random_ids(60, V, 14);
    Engine::Chunk longer{0, more};
    engine.forward(std::span(&longer, 1), logits);
    for (int i = 0; i < 3; ++i, ++done) {
      Engine::Chunk ch{1, std::span<const int32_t>(ids.data() + done, 1), true};
      engine.forward(std::span(&ch, 1), logits);
      got.insert(got.end(), logits.begin(), logits.end());
    }
    for (size_t p = 0; p < done; ++p)
      expect_row_near(got.data() + p * V, want.data() + p * V, V, 1e-5f,
                      fmt::format("{} position {}", dtype_info(t).name, p));
  }
}

TEST(Engine, TruncateAndCopyPrefixReuseTheCache) {
  ModelConfig c = gqa_bias_tied();
  c.initializer_range = 0.2;
  Transformer model = Transformer::random(c, 9);
  Engine engine(std::make_shared<const ModelWeights>(weights_from_transformer(model)), 2, 64);
  std::vector<int32_t> a = random_ids(30, c.vocab_size, 4), b = a;
  for (size_t i = 20; i < b.size(); ++i) b[i] = (b[i] + 1) % c.vocab_size;
  std::vector<float> logits;
  Engine::Chunk ca{0, a};
  engine.forward(std::span(&ca, 1), logits);
  // Slot 1 reuses slot 0's first 20 positions, then gets b's tail.
  engine.cache().copy_prefix(0, 1, 20);
  Engine::Chunk cb{1, std::span<const int32_t>(b.data() + 20, 10)};
  engine.forward(std::span(&cb, 1), logits);
  auto want = reference_logits(model, b);
  expect_row_near(logits.data(), want.data() + 29 * c.vocab_size, c.vocab_size, 2e-4f, "copied prefix");
  // Slot 0 rewinds to 20 and takes b's tail too.
  engine.cache().truncate(0, 20);
  Engine::Chunk cc{0, std::span<const int32_t>(b.data() + 20, 10)};
  engine.forward(std::span(&cc, 1), logits);
  expect_row_near(logits.data(), want.data() + 29 * c.vocab_size, c.vocab_size, 2e-4f, "truncated");
}

TEST(Engine, QuantizedWeightsStayCloseToF32) {
  ModelConfig c = base_config();
  Transformer model = Transformer::random(c, 3);
  std::vector<int32_t> ids = random_ids(50, c.vocab_size, 8);
  auto want = reference_logits(model, ids);
  for (DType t : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0}) {
    auto w = std::make_shared<const ModelWeights>(weights_from_transformer(model, t));
    EXPECT_EQ(w->layers[0].q.type, t);
    if (t == DType::Q8_0 || t == DType::Q4_0) { EXPECT_NE(w->layers[0].q.packed, nullptr); }
    Engine engine(w, 1, 64);
    std::vector<float> logits;
    Engine::Chunk ch{0, ids, true};
    engine.forward(std::span(&ch, 1), logits);
    // Relative RMS error of all logits against f32.
    double err = 0, ref = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      err += (logits[i] - want[i]) * (logits[i] - want[i]);
      ref += want[i] * want[i];
    }
    const double rel = std::sqrt(err / ref);
    const double bound = t == DType::Q4_0 ? 0.25 : t == DType::Q8_0 ? 0.03 : t == DType::BF16 ? 0.03 : 0.003;
    EXPECT_LT(rel, bound) << dtype_info(t).name;
    EXPECT_GT(rel, 0.0) << dtype_info(t).name << " should differ from f32 at all";
  }
}

TEST(Engine, BadInputIsAClearErrorAndChangesNothing) {
  ModelConfig c = base_config();
  Transformer model = Transformer::random(c, 1);
  auto w = std::make_shared<const ModelWeights>(weights_from_transformer(model));
  EXPECT_THROW(Engine(w, 1, c.max_position_embeddings + 1), Error);
  Engine engine(w, 2, 16);
  std::vector<float> logits;
  std::vector<int32_t> ok = {1, 2, 3}, bad = {1, static_cast<int32_t>(c.vocab_size)}, neg = {-1};
  std::vector<int32_t> long_ids(17, 1);
  Engine::Chunk good{0, ok};
  engine.forward(std::span(&good, 1), logits);
  auto expect_error = [&](std::vector<Engine::Chunk> chunks, const std::string& needle) {
    try {
      engine.forward(chunks, logits);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_EQ(engine.cache().length(0), 3);
    EXPECT_EQ(engine.cache().length(1), 0);
  };
  expect_error({{1, bad}}, "outside the vocabulary");
  expect_error({{1, neg}}, "outside the vocabulary");
  expect_error({{1, long_ids}}, "context overflow");
  expect_error({{1, ok}, {0, std::span<const int32_t>(long_ids.data(), 14)}}, "context overflow");
  expect_error({{2, ok}}, "slot 2");
  expect_error({{1, ok}, {1, ok}}, "twice");
  expect_error({{1, {}}}, "no tokens");
  EXPECT_THROW(engine.cache().truncate(0, 4), Error);
  EXPECT_THROW(engine.cache().copy_prefix(1, 0, 1), Error);
}

}  // namespace engine_test
