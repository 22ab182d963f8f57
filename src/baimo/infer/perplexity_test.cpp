#include "baimo/infer/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "baimo/autograd/tape.h"
#include "baimo/model/transformer.h"
#include "baimo/util/error.h"

namespace perplexity_test {
using namespace baimo;

// -log p(ids[i] | ids[from..i-1]) from the full forward pass over ids[from..to).
std::vector<double> window_nll(const Transformer& m, const std::vector<int32_t>& ids, int64_t from, int64_t to) {
  ag::NoGradGuard ng;
  std::vector<int32_t> w(ids.begin() + from, ids.begin() + to);
  ag::Var l = m.logits(Tensor::from_ids({1, to - from}, w));
  const int64_t V = m.config().vocab_size;
  std::vector<double> out(static_cast<size_t>(to - from), 0.0);
  for (int64_t p = 0; p + 1 < to - from; ++p) {
    const float* row = l.value().data<float>() + p * V;
    double mx = *std::max_element(row, row + V), z = 0;
    for (int64_t v = 0; v < V; ++v) z += std::exp(row[v] - mx);
    out[static_cast<size_t>(p + 1)] = mx + std::log(z) - row[w[static_cast<size_t>(p + 1)]];
  }
  return out;
}

TEST(Perplexity, SlidingWindowMatchesFullForward) {
  ModelConfig c;
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 32;
  c.initializer_range = 0.3;
  Transformer model = Transformer::random(c, 2);
  std::mt19937 rng(3);
  std::vector<int32_t> ids(70);
  for (auto& x : ids) x = static_cast<int32_t>(rng() % c.vocab_size);
  Engine engine(std::make_shared<const ModelWeights>(weights_from_transformer(model)), 1, 32);

  // ctx 16, stride 6: windows [0,16) [6,22) ... each scoring the tokens past the previous end.
  double sum = 0;
  int64_t n = 0, prev_end = 1;
  for (int64_t b = 0; prev_end < 70; b += 6) {
    const int64_t e = std::min<int64_t>(b + 16, 70);
    auto nll = window_nll(model, ids, b, e);
    for (int64_t i = std::max(prev_end, b + 1); i < e; ++i, ++n) sum += nll[static_cast<size_t>(i - b)];
    prev_end = e;
  }
  for (int64_t chunk : {16, 5, 1}) {
    PerplexityResult r = perplexity(engine, ids, 16, 6, chunk);
    EXPECT_EQ(r.tokens, 70);
    EXPECT_EQ(r.scored, 69);
    EXPECT_EQ(n, 69);
    EXPECT_NEAR(r.nll, sum / n, 1e-4) << "chunk " << chunk;
    EXPECT_NEAR(r.perplexity, std::exp(sum / n), 1e-3 * r.perplexity);
  }
  // No overlap: the first token of each window is not scored.
  PerplexityResult r = perplexity(engine, ids, 16, 16);
  EXPECT_EQ(r.windows, 5);
  EXPECT_EQ(r.scored, 69 - 4);
  EXPECT_THROW(perplexity(engine, std::span(ids.data(), 1), 16, 8), Error);
  EXPECT_THROW(perplexity(engine, ids, 33, 8), Error);
  EXPECT_THROW(perplexity(engine, ids, 16, 17), Error);
}

}  // namespace perplexity_test
