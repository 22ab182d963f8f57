#include "baimo/eval/mc_score.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "baimo/autograd/tape.h"
#include "baimo/eval/test_model.h"
#include "baimo/model/transformer.h"
#include "baimo/util/error.h"

namespace mc_score_test {
using namespace baimo;
using namespace baimo::eval;

ModelConfig tiny() {
  ModelConfig c;
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  c.initializer_range = 0.3;
  return c;
}

// sum log p(cont | ctx) from one full forward pass over ctx + cont (the training transformer).
double reference(const Transformer& m, const std::vector<int32_t>& ctx, const std::vector<int32_t>& cont) {
  ag::NoGradGuard ng;
  std::vector<int32_t> w = ctx;
  w.insert(w.end(), cont.begin(), cont.end());
  const int64_t T = static_cast<int64_t>(w.size()), V = m.config().vocab_size;
  ag::Var l = m.logits(Tensor::from_ids({1, T}, w));
  double s = 0;
  for (size_t i = 0; i < cont.size(); ++i) {
    const int64_t p = static_cast<int64_t>(ctx.size() + i) - 1;  // predicts w[p + 1] = cont[i]
    const float* row = l.value().data<float>() + p * V;
    double mx = *std::max_element(row, row + V), z = 0;
    for (int64_t v = 0; v < V; ++v) z += std::exp(row[v] - mx);
    s += row[cont[i]] - mx - std::log(z);
  }
  return s;
}

TEST(McScore, MatchesFullForwardForAnyBatch) {
  ModelConfig c = tiny();
  Transformer model = Transformer::random(c, 4);
  auto weights = std::make_shared<const ModelWeights>(weights_from_transformer(model));
  std::mt19937 rng(5);
  auto ids = [&](int n) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (auto& x : v) x = static_cast<int32_t>(rng() % c.vocab_size);
    return v;
  };
  std::vector<McRequest> reqs;
  for (int e = 0; e < 7; ++e) {
    McRequest r;
    r.context = ids(1 + e * 3);  // a 1-token context included
    const int nc = 2 + e % 3;
    for (int k = 0; k < nc; ++k) {
      r.choices.push_back(ids(1 + (k * 5 + e) % 4));
      r.choice_bytes.push_back(1 + k * 7 % 5);
      r.choice_chars.push_back(1 + k * 3 % 4);
    }
    reqs.push_back(r);
  }
  std::vector<std::vector<double>> want;
  for (auto& r : reqs) {
    std::vector<double> w;
    for (auto& ch : r.choices) w.push_back(reference(model, r.context, ch));
    want.push_back(w);
  }
  for (int slots : {4, 9, 16}) {
    Engine engine(weights, slots, 64);
    int64_t last = 0;
    auto res = score_mc(engine, reqs, [&](int64_t done) {
      EXPECT_GT(done, last);
      last = done;
    });
    EXPECT_EQ(last, 7);
    ASSERT_EQ(res.size(), reqs.size());
    for (size_t e = 0; e < reqs.size(); ++e) {
      ASSERT_EQ(res[e].loglik.size(), reqs[e].choices.size());
      int best = 0, best_norm = 0, best_chars = 0;
      for (size_t k = 0; k < want[e].size(); ++k) {
        EXPECT_NEAR(res[e].loglik[k], want[e][k], 1e-4) << "slots " << slots << " example " << e << " choice " << k;
        if (res[e].loglik[k] > res[e].loglik[static_cast<size_t>(best)]) best = static_cast<int>(k);
        if (res[e].loglik[k] / reqs[e].choice_bytes[k] >
            res[e].loglik[static_cast<size_t>(best_norm)] / reqs[e].choice_bytes[static_cast<size_t>(best_norm)])
          best_norm = static_cast<int>(k);
        if (res[e].loglik[k] / reqs[e].choice_chars[k] >
            res[e].loglik[static_cast<size_t>(best_chars)] / reqs[e].choice_chars[static_cast<size_t>(best_chars)])
          best_chars = static_cast<int>(k);
      }
      EXPECT_EQ(res[e].pred, best);
      EXPECT_EQ(res[e].pred_norm, best_norm);
      EXPECT_EQ(res[e].pred_norm_chars, best_chars);
    }
  }
  // More choices than slots is an error, not a wrong answer.
  Engine small(weights, 2, 64);
  std::vector<McRequest> wide{reqs[1]};  // 3 choices
  EXPECT_THROW(score_mc(small, wide), Error);
}

TEST(McScore, LeftTruncatesLongContexts) {
  ModelConfig c = tiny();
  Transformer model = Transformer::random(c, 6);
  auto weights = std::make_shared<const ModelWeights>(weights_from_transformer(model));
  McRequest r;
  for (int i = 0; i < 30; ++i) r.context.push_back(i % 50);
  r.choices = {{1, 2, 3}, {4}};
  r.choice_bytes = {3, 1};
  Engine engine(weights, 2, 16);  // 30 + 3 - 1 > 16: the context keeps its last 14 tokens
  auto res = score_mc(engine, std::vector<McRequest>{r});
  std::vector<int32_t> kept(r.context.end() - 14, r.context.end());
  EXPECT_NEAR(res[0].loglik[0], reference(model, kept, r.choices[0]), 1e-4);
  EXPECT_NEAR(res[0].loglik[1], reference(model, kept, r.choices[1]), 1e-4);
}

TEST(McScore, EncodesPairsTheLmEvalWay) {
  auto tok = test_fixtures::byte_tokenizer();
  const std::vector<std::string> choices = {" mat", "dog"};
  McRequest r = encode_mc(*tok, "The cat sat on the ", choices);  // the trailing space moves
  const std::string ctx = "The cat sat on the";
  ASSERT_EQ(r.context.size(), ctx.size());
  EXPECT_EQ(r.context.back(), 'e');
  EXPECT_EQ(r.choices[0], (std::vector<int32_t>{' ', ' ', 'm', 'a', 't'}));
  EXPECT_EQ(r.choices[1], (std::vector<int32_t>{' ', 'd', 'o', 'g'}));
  EXPECT_EQ(r.choice_bytes, (std::vector<int64_t>{5, 4}));
  const std::vector<std::string> zh = {"北京"};
  McRequest z = encode_mc(*tok, "答案：", zh);
  EXPECT_EQ(z.choices[0].size(), 6u);  // two 3-byte characters
  EXPECT_EQ(z.choice_bytes[0], 6);
  EXPECT_EQ(z.choice_chars[0], 2);
  EXPECT_EQ(r.choice_chars, (std::vector<int64_t>{5, 4}));
  // An empty context becomes the EOS; with add_bos the BOS leads.
  McRequest e = encode_mc(*tok, "", zh);
  EXPECT_EQ(e.context, (std::vector<int32_t>{256}));
  tok->set_bos_id(256);
  tok->set_add_bos(true);
  McRequest b = encode_mc(*tok, "Hi", zh);
  EXPECT_EQ(b.context, (std::vector<int32_t>{256, 'H', 'i'}));
  const std::vector<std::string> nothing = {""};
  EXPECT_THROW(encode_mc(*tok, "Hi", nothing), Error);
}

}  // namespace mc_score_test
