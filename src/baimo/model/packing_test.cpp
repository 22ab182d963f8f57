// Packed rows (several documents in one row, positions restarting per document, segments keeping
// attention inside each): the same logits, masked cross-entropy loss and parameter gradients as
// the documents run as separate rows; a pad tail in its own segment changes nothing; bad packing
// inputs are errors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "baimo/autograd/tape.h"
#include "baimo/model/lm_loss.h"
#include "baimo/model/transformer.h"
#include "baimo/util/error.h"

namespace packing_test {
using namespace baimo;

ModelConfig gqa_config() {
  ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 40;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 8;  // less than the packed row: only positions are limited
  c.tie_word_embeddings = true;
  c.qkv_bias = true;
  return c;
}

// A document: ids and next-token targets (the first one ignored, as a prompt would be).
struct Doc {
  std::vector<int32_t> ids, targets;
};

std::vector<Doc> make_docs(const std::vector<int>& lengths, int32_t V) {
  std::mt19937 rng(5);
  std::vector<Doc> docs;
  for (int n : lengths) {
    Doc d;
    for (int i = 0; i <= n; ++i) d.ids.push_back(static_cast<int32_t>(rng() % V));
    d.targets.assign(d.ids.begin() + 1, d.ids.end());
    d.ids.pop_back();
    d.targets[0] = -100;
    docs.push_back(d);
  }
  return docs;
}

struct Outcome {
  std::vector<float> logits;               // (B, T, V)
  float loss = 0;
  std::vector<std::vector<float>> grads;   // per parameter
};

Outcome run(const Transformer& m, const Tensor& ids, const Tensor& targets, const Tensor* positions,
        const Tensor* segments) {
  std::vector<ag::Var> params = m.param_vars();
  ag::zero_grad(params);
  Outcome r;
  ag::Var logits = m.logits(ids, positions, segments);
  ag::Var loss = ag::cross_entropy(logits, targets);
  ag::backward(loss);
  r.logits.assign(logits.value().data<float>(), logits.value().data<float>() + logits.numel());
  r.loss = loss.item();
  for (const ag::Var& p : params) {
    Tensor g = p.grad();
    r.grads.emplace_back(g.data<float>(), g.data<float>() + g.numel());
  }
  ag::reset_step();
  return r;
}

double rel_err(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 1e-30;
  for (size_t i = 0; i < want.size(); ++i) {
    num = std::max(num, double(std::fabs(got[i] - want[i])));
    den = std::max(den, double(std::fabs(want[i])));
  }
  return num / den;
}

// The documents as separate rows of one batch, each padded at its end (targets -100).
Outcome run_unpacked(const Transformer& m, const std::vector<Doc>& docs) {
  size_t T = 0;
  for (const Doc& d : docs) T = std::max(T, d.ids.size());
  std::vector<int32_t> ids, targets;
  for (const Doc& d : docs) {
    ids.insert(ids.end(), d.ids.begin(), d.ids.end());
    ids.insert(ids.end(), T - d.ids.size(), 0);
    targets.insert(targets.end(), d.targets.begin(), d.targets.end());
    targets.insert(targets.end(), T - d.targets.size(), -100);
  }
  const Shape s{static_cast<int64_t>(docs.size()), static_cast<int64_t>(T)};
  return run(m, Tensor::from_ids(s, ids), Tensor::from_ids(s, targets), nullptr, nullptr);
}

// The documents packed into one row (+ pad_tail tokens in a last segment of their own).
Outcome run_packed(const Transformer& m, const std::vector<Doc>& docs, int pad_tail) {
  std::vector<int32_t> ids, targets, pos, seg;
  int32_t id = 0;
  for (const Doc& d : docs) {
    ids.insert(ids.end(), d.ids.begin(), d.ids.end());
    targets.insert(targets.end(), d.targets.begin(), d.targets.end());
    for (size_t i = 0; i < d.ids.size(); ++i) {
      pos.push_back(static_cast<int32_t>(i));
      seg.push_back(id);
    }
    ++id;
  }
  for (int i = 0; i < pad_tail; ++i) {
    ids.push_back(7);
    targets.push_back(-100);
    pos.push_back(i);
    seg.push_back(id);
  }
  const Shape s{1, static_cast<int64_t>(ids.size())};
  const Tensor positions = Tensor::from_ids(s, pos), segments = Tensor::from_ids(s, seg);
  return run(m, Tensor::from_ids(s, ids), Tensor::from_ids(s, targets), &positions, &segments);
}

TEST(Packing, PackedRowEqualsSeparateRows) {
  const ModelConfig cfg = gqa_config();
  const Transformer m = Transformer::random(cfg, 3);
  const std::vector<Doc> docs = make_docs({5, 7, 3}, static_cast<int32_t>(cfg.vocab_size));
  const Outcome sep = run_unpacked(m, docs);
  const int64_t V = cfg.vocab_size, Tu = 7;
  for (int pad_tail : {0, 3}) {
    const Outcome packed = run_packed(m, docs, pad_tail);
    // Logits: document d's row of the unpacked batch against its span of the packed row.
    std::vector<float> want, got;
    size_t offset = 0;
    for (size_t d = 0; d < docs.size(); ++d) {
      const size_t n = docs[d].ids.size();
      want.insert(want.end(), sep.logits.begin() + d * Tu * V, sep.logits.begin() + (d * Tu + n) * V);
      got.insert(got.end(), packed.logits.begin() + offset * V, packed.logits.begin() + (offset + n) * V);
      offset += n;
    }
    EXPECT_LT(rel_err(got, want), 1e-5) << "logits, pad tail " << pad_tail;
    EXPECT_NEAR(packed.loss, sep.loss, 1e-5 * std::fabs(sep.loss)) << "pad tail " << pad_tail;
    for (size_t i = 0; i < sep.grads.size(); ++i)
      EXPECT_LT(rel_err(packed.grads[i], sep.grads[i]), 1e-5)
          << m.params()[i].spec.name << ", pad tail " << pad_tail;
  }
}

TEST(Packing, WithoutSegmentsDocumentsWouldSeeEachOther) {
  // The check above can fail: the same packed row with positions but no segments differs.
  const ModelConfig cfg = gqa_config();
  const Transformer m = Transformer::random(cfg, 3);
  const std::vector<Doc> docs = make_docs({5, 3}, static_cast<int32_t>(cfg.vocab_size));
  std::vector<int32_t> ids(docs[0].ids), pos{0, 1, 2, 3, 4, 0, 1, 2}, seg{0, 0, 0, 0, 0, 1, 1, 1};
  ids.insert(ids.end(), docs[1].ids.begin(), docs[1].ids.end());
  const Tensor t_ids = Tensor::from_ids({1, 8}, ids), t_pos = Tensor::from_ids({1, 8}, pos),
               t_seg = Tensor::from_ids({1, 8}, seg);
  ag::NoGradGuard no_grad;
  ag::Var with = m.logits(t_ids, &t_pos, &t_seg), without = m.logits(t_ids, &t_pos);
  const float *a = with.value().data<float>(), *b = without.value().data<float>();
  const int64_t V = cfg.vocab_size;
  double first_doc = 0, second_doc = 0;
  for (int64_t i = 0; i < 8 * V; ++i) (i < 5 * V ? first_doc : second_doc) += std::fabs(a[i] - b[i]);
  EXPECT_EQ(first_doc, 0.0);  // earlier document: nothing before it to see
  EXPECT_GT(second_doc, 1e-3);
  ag::reset_step();
}

TEST(Packing, DefaultsAreCountingPositionsAndOneDocument) {
  const ModelConfig cfg = gqa_config();
  const Transformer m = Transformer::random(cfg, 4);
  const Tensor ids = Tensor::from_ids({2, 6}, std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  const Tensor pos = Tensor::from_ids({2, 6}, std::vector<int32_t>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5});
  const Tensor seg = Tensor::from_ids({2, 6}, std::vector<int32_t>(12, 3));
  ag::NoGradGuard no_grad;
  ag::Var plain = m.logits(ids), expl = m.logits(ids, &pos, &seg);
  for (int64_t i = 0; i < plain.numel(); ++i)
    ASSERT_EQ(plain.value().data<float>()[i], expl.value().data<float>()[i]) << i;
  ag::reset_step();
}

TEST(Packing, BadPackingInputsAreErrors) {
  const Transformer m = Transformer::random(gqa_config(), 1);
  const Tensor ids = Tensor::from_ids({1, 4}, std::vector<int32_t>{1, 2, 3, 4});
  auto message = [&](const Tensor* pos, const Tensor* seg) {
    ag::NoGradGuard no_grad;
    try {
      m.logits(ids, pos, seg);
    } catch (const Error& e) {
      ag::reset_step();
      return std::string(e.what());
    }
    ag::reset_step();
    return std::string("no error");
  };
  const Tensor good = Tensor::from_ids({1, 4}, std::vector<int32_t>{0, 1, 0, 1});
  const Tensor good_seg = Tensor::from_ids({1, 4}, std::vector<int32_t>{0, 0, 1, 1});
  const Tensor too_far = Tensor::from_ids({1, 4}, std::vector<int32_t>{0, 1, 2, 8});  // max_position_embeddings 8
  const Tensor negative = Tensor::from_ids({1, 4}, std::vector<int32_t>{0, -1, 0, 1});
  const Tensor short_row = Tensor::from_ids({1, 3}, std::vector<int32_t>{0, 0, 0});
  const Tensor decreasing = Tensor::from_ids({1, 4}, std::vector<int32_t>{0, 1, 1, 0});
  const Tensor floats = Tensor::zeros({1, 4});
  EXPECT_EQ(message(&good, &good_seg), "no error");
  EXPECT_NE(message(&too_far, nullptr).find("positions[0, 3] = 8"), std::string::npos);
  EXPECT_NE(message(&negative, nullptr).find("positions[0, 1] = -1"), std::string::npos);
  EXPECT_NE(message(&short_row, nullptr).find("positions"), std::string::npos);
  EXPECT_NE(message(nullptr, &short_row).find("segments"), std::string::npos);
  EXPECT_NE(message(nullptr, &floats).find("segments"), std::string::npos);
  EXPECT_NE(message(&good, &decreasing).find("non-decreasing"), std::string::npos);
  // Without positions the row length itself is limited, as before.
  const Tensor long_ids = Tensor::from_ids({1, 9}, std::vector<int32_t>(9, 1));
  EXPECT_THROW(m.logits(long_ids), Error);
  ag::reset_step();
}

}  // namespace packing_test
