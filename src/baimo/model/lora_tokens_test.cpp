// Trainable token rows of a LoRA adapter (PEFT trainable_token_indices, model/lora.h):
// - the ops: replace_rows / replace_columns gradients match finite differences; the fused head with
//   rows (lm_head_loss / _logprobs, f32 and frozen W) equals cross_entropy(replace_columns(linear))
//   in value and in d(h), d(values), with W's replaced rows getting no gradient;
// - the Transformer: the rows replace the embedding rows and, tied, the head's (logits equal the
//   merged model's; untied, only the embedding: PEFT's behaviour); d(rows) of loss() matches finite
//   differences; only the rows get a gradient (the frozen base none);
// - the PEFT layout: saved under PEFT's names with trainable_token_indices, loaded back bit for bit;
//   the {"embed_tokens": [...]} form is read; ids outside the vocabulary and other modules refused;
// - the trainer's LoRA module carries the rows (checkpoint names, a no-decay AdamW group).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/tape.h"
#include "baimo/autograd/test_util.h"
#include "baimo/convert/lora_test_util.h"
#include "baimo/convert/peft_adapter.h"
#include "baimo/io/safetensors.h"
#include "baimo/model/lora.h"
#include "baimo/model/lora_merge.h"
#include "baimo/model/transformer.h"
#include "baimo/train/objectives/finetune_module.h"
#include "baimo/train/param_groups.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace lora_tokens_test {
using namespace baimo;
using namespace baimo::ag::testing;

ag::TokenRows rows_of(std::vector<int32_t> ids, int64_t C, uint32_t seed) {
  ag::TokenRows r;
  r.ids = Tensor::from_ids({static_cast<int64_t>(ids.size())}, ids);
  r.values = random_leaf({static_cast<int64_t>(ids.size()), C}, seed);
  return r;
}

void expect_close(const Tensor& a, const Tensor& b, float tol) {
  ASSERT_EQ(a.numel(), b.numel());
  for (int64_t i = 0; i < a.numel(); ++i)
    EXPECT_NEAR(a.data<float>()[i], b.data<float>()[i], tol * (1.f + std::fabs(b.data<float>()[i]))) << "element " << i;
}

ag::GradCheckOptions fd() {
  ag::GradCheckOptions o;
  o.eps = 1e-2f;
  o.rtol = 2e-2f;
  o.atol = 1e-3f;
  o.max_checks = 24;
  return o;
}

TEST(TokenRowsOps, ReplaceRowsAndColumnsMatchFiniteDifferences) {
  const int64_t N = 9, C = 6, V = 11;
  std::vector<int32_t> idv = {3, 7, 3, 0, 10, 7, 1, 3, 5};
  const Tensor ids = Tensor::from_ids({N}, idv);
  ag::TokenRows rows = rows_of({7, 3, 9}, C, 4);  // 9 never occurs: its row gets a zero gradient
  ag::Var x = random_leaf({N, C}, 5), h = random_leaf({N, C}, 6), W = random_leaf({V, C}, 7);
  auto r1 = ag::gradcheck([&](const std::vector<ag::Var>&) { return probe(ag::replace_rows(x, ids, rows), 8); },
                          {x, rows.values}, fd());
  EXPECT_TRUE(r1.ok) << r1.first_failure;
  auto r2 = ag::gradcheck(
      [&](const std::vector<ag::Var>&) { return probe(ag::replace_columns(ag::linear(h, W), h, rows), 9); },
      {h, W, rows.values}, fd());
  EXPECT_TRUE(r2.ok) << r2.first_failure;
  ag::reset_step();
  // Replaced rows take the values; the rest is x.
  const ag::Var y = ag::replace_rows(x, ids, rows);
  for (int64_t n = 0; n < N; ++n) {
    const float* want = idv[n] == 7 ? rows.values.value().data<float>()
                        : idv[n] == 3 ? rows.values.value().data<float>() + C
                                      : x.value().data<float>() + n * C;
    for (int64_t j = 0; j < C; ++j) EXPECT_EQ(y.value().data<float>()[n * C + j], want[j]);
  }
  ag::reset_step();
  EXPECT_THROW(ag::replace_rows(x, ids, rows_of({1, 1}, C, 2)), Error);  // an id twice
}

TEST(TokenRowsOps, FusedHeadEqualsReplacedColumns) {
  const int64_t N = 37, V = 101, C = 24;
  for (bool frozen : {false, true})
    for (bool logprobs : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "frozen " << frozen << " logprobs " << logprobs);
      ag::Var h = random_leaf({N, C}, 3, -2.f, 2.f);
      ag::Var W = ag::Var::leaf(random_tensor({V, C}, 11), !frozen);
      ag::TokenRows rows = rows_of({100, 0, 50, 17}, C, 12);  // first and last column, tile edges
      Tensor tg = random_ids({N}, static_cast<int32_t>(V), 5);
      int32_t* t = tg.data<int32_t>();
      t[0] = 100, t[1] = 0, t[2] = 50, t[4] = -100, t[5] = 17, t[6] = 100;
      const WeightMatrix wm{DType::F32, W.value().data<float>(), V, C};
      const ag::LmHeadChunks ch{8, 16};
      ag::Var fused = logprobs ? (frozen ? ag::lm_head_logprobs_frozen(h, wm, tg, -100, ch, rows)
                                         : ag::lm_head_logprobs(h, W, tg, -100, ch, rows))
                               : (frozen ? ag::lm_head_loss_frozen(h, wm, tg, -100, ch, rows)
                                         : ag::lm_head_loss(h, W, tg, -100, ch, rows));
      ag::Var l1 = logprobs ? probe(fused, 21) : fused;
      ag::backward(l1);
      const Tensor dh = h.grad().clone(), dv = rows.values.grad().clone();
      const Tensor dW = frozen ? Tensor() : W.grad().clone();
      const float v1 = l1.item();
      std::vector<ag::Var> all{h, rows.values};
      if (!frozen) all.push_back(W);
      ag::zero_grad(all);
      const ag::Var logits = ag::replace_columns(ag::linear(h, W), h, rows);
      ag::Var l2 = logprobs ? probe(ag::token_logprobs(logits, tg), 21) : ag::cross_entropy(logits, tg);
      ag::backward(l2);
      EXPECT_NEAR(v1, l2.item(), 1e-5f * (1.f + std::fabs(l2.item())));
      expect_close(dh, h.grad(), 1e-4f);
      expect_close(dv, rows.values.grad(), 1e-4f);
      if (!frozen) {
        expect_close(dW, W.grad(), 1e-4f);
        for (int32_t id : {100, 0, 50, 17})
          for (int64_t j = 0; j < C; ++j) EXPECT_EQ(dW.data<float>()[id * C + j], 0.f);
      }
      ag::reset_step();
    }
}

namespace {

ModelConfig tiny(bool tied) {
  ModelConfig c = lora_test::tiny_config("qwen2");
  c.vocab_size = 40;
  c.tie_word_embeddings = tied;
  return c;
}

Tensor ids_of(int64_t B, int64_t T, int32_t V, uint32_t seed, std::vector<int32_t> force = {}) {
  Tensor t = random_ids({B, T}, V, seed);
  for (size_t i = 0; i < force.size(); ++i) t.data<int32_t>()[i * 3] = force[i];
  return t;
}

}  // namespace

TEST(TokenRowsModel, ReplaceEmbeddingAndTiedHeadLikeTheMergedModel) {
  for (bool tied : {true, false}) {
    SCOPED_TRACE(tied ? "tied" : "untied");
    const ModelConfig cfg = tiny(tied);
    Transformer m = Transformer::random(cfg, 3);
    LoraAdapter ad = lora_test::random_adapter(cfg, 4, 8.f, false, 3, {39, 38, 2});
    const Tensor ids = ids_of(2, 7, 40, 1, {39, 38, 2, 39});
    m.attach_lora(&ad);
    const Tensor with = m.logits(ids).value().clone();
    m.attach_lora(nullptr);
    Transformer merged = Transformer::random(cfg, 3);
    merge_lora(merged, ad);
    const Tensor want = merged.logits(ids).value().clone();
    expect_close(with, want, 2e-5f);
    // Tied: column 39 of the logits is h . rows[0], not h . base row; untied: the head keeps its rows.
    const float* e = merged.param("model.embed_tokens.weight").value().data<float>();
    const float* r = ad.token_rows.value().data<float>();
    for (int64_t j = 0; j < cfg.hidden_size; ++j) EXPECT_EQ(e[39 * cfg.hidden_size + j], r[j]);
    if (!tied) {
      const Transformer base = Transformer::random(cfg, 3);
      expect_close(merged.param("lm_head.weight").value(), base.param("lm_head.weight").value(), 0.f);
    }
    ag::reset_step();
  }
}

TEST(TokenRowsModel, RowGradientsThroughLossMatchFiniteDifferencesAndOnlyRowsTrain) {
  for (bool tied : {true, false}) {
    SCOPED_TRACE(tied ? "tied" : "untied");
    const ModelConfig cfg = tiny(tied);
    Transformer m = Transformer::random(cfg, 3);
    LoraAdapter ad = lora_test::random_adapter(cfg, 4, 8.f, false, 3, {39, 38});
    m.set_base_trainable(false);
    m.attach_lora(&ad);
    const Tensor ids = ids_of(2, 7, 40, 1, {39, 5, 38});
    Tensor tg = ids_of(2, 7, 40, 2, {39, 38, 39, 38});  // the rows are targets too (the head path)
    tg.data<int32_t>()[1] = -100;
    // Fused loss == cross-entropy of the explicit logits (tied: replace_columns).
    const float fused = m.loss(ids, tg).item();
    const float plain = ag::cross_entropy(m.logits(ids), tg).item();
    EXPECT_NEAR(fused, plain, 1e-5f);
    ag::reset_step();
    auto r = ag::gradcheck([&](const std::vector<ag::Var>&) { return m.loss(ids, tg); }, {ad.token_rows}, fd());
    EXPECT_TRUE(r.ok) << r.first_failure;
    EXPECT_EQ(r.checked, 24);
    ag::backward(m.loss(ids, tg));
    for (const auto& p : m.params()) EXPECT_FALSE(p.var.has_grad()) << p.spec.name;
    EXPECT_TRUE(ad.token_rows.has_grad());
    ag::reset_step();
  }
}

TEST(TokenRowsModel, RowsFromTheBaseChangeNothingAndLogprobsMatch) {
  const ModelConfig cfg = tiny(true);
  Transformer m = Transformer::random(cfg, 3);
  const Tensor rows = m.embedding_rows({39, 1});
  const float* e = m.param("model.embed_tokens.weight").value().data<float>();
  for (int64_t j = 0; j < cfg.hidden_size; ++j) {
    EXPECT_EQ(rows.data<float>()[j], e[39 * cfg.hidden_size + j]);
    EXPECT_EQ(rows.data<float>()[cfg.hidden_size + j], e[cfg.hidden_size + j]);
  }
  EXPECT_THROW(m.embedding_rows({40}), Error);
  // Rows initialised from the base change nothing (PEFT's init).
  LoraConfig lc;
  lc.trainable_tokens = {39, 1};
  LoraAdapter ad = LoraAdapter::create(cfg, lc, 1);
  std::copy_n(rows.data<float>(), rows.numel(), ad.token_rows.value().data<float>());
  const Tensor ids = ids_of(1, 6, 40, 4, {39, 1});
  const Tensor before = m.logits(ids).value().clone();
  m.attach_lora(&ad);
  expect_close(m.logits(ids).value(), before, 1e-6f);
  // token_logprobs (fused) == token_logprobs of the explicit logits.
  const Tensor tg = ids_of(1, 6, 40, 5, {39, 1});
  std::copy_n(random_tensor(ad.token_rows.shape(), 3).data<float>(), ad.token_rows.numel(),
              ad.token_rows.value().data<float>());
  expect_close(m.token_logprobs(ids, tg).value(), ag::token_logprobs(m.logits(ids), tg).value(), 1e-5f);
  ag::reset_step();
  // Ids outside the vocabulary are refused.
  LoraConfig bad;
  bad.trainable_tokens = {41};
  EXPECT_THROW(LoraAdapter::create(cfg, bad, 1), Error);
}

TEST(TokenRowsPeft, SavedInPeftLayoutAndLoadedBack) {
  const ModelConfig cfg = tiny(true);
  LoraAdapter ad = lora_test::random_adapter(cfg, 4, 8.f, false, 3, {39, 2, 38});
  TempDir t{"baimo_lora_tokens_"};
  const std::string dir = (t.dir / "ad").string();
  save_peft_adapter(dir, ad, "base");
  const std::string conf = read_file((t.dir / "ad" / kPeftConfigFile).string());
  EXPECT_NE(conf.find("\"trainable_token_indices\": [\n    39,\n    2,\n    38\n  ]"), std::string::npos) << conf;
  SafetensorsFile f((t.dir / "ad" / kPeftWeightsFile).string());
  const SafetensorInfo* info = f.view().find("base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->shape, (std::vector<int64_t>{3, cfg.hidden_size}));
  EXPECT_EQ(f.view().find("base_model.model.lm_head.token_adapter.trainable_tokens_delta"), nullptr);  // tied: none
  const LoraAdapter back = load_peft_adapter(dir, cfg);
  EXPECT_EQ(back.config.trainable_tokens, (std::vector<int32_t>{39, 2, 38}));
  expect_close(back.token_rows.value(), ad.token_rows.value(), 0.f);
  EXPECT_EQ(back.numel(), ad.numel());
  // The dict form PEFT also accepts.
  LoraConfig lc = parse_peft_adapter_config(
      R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"],
          "trainable_token_indices": {"embed_tokens": [5, 6]}})",
      "x");
  EXPECT_EQ(lc.trainable_tokens, (std::vector<int32_t>{5, 6}));
  EXPECT_THROW(parse_peft_adapter_config(R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules":
      ["q_proj"], "trainable_token_indices": {"lm_head": [5]}})", "x"), Error);
  EXPECT_THROW(parse_peft_adapter_config(R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules":
      ["q_proj"], "trainable_token_indices": [5, 5]})", "x"), Error);
  ModelConfig small = cfg;
  small.vocab_size = 39;
  EXPECT_THROW(load_peft_adapter(dir, small), Error);  // id 39 outside the vocabulary
}

TEST(TokenRowsTrainer, LoraModuleCarriesTheRowsWithoutDecay) {
  const ModelConfig cfg = tiny(true);
  Transformer m = Transformer::random(cfg, 3);
  LoraAdapter ad = lora_test::random_adapter(cfg, 4, 8.f, false, 3, {39, 38});
  m.attach_lora(&ad);
  const train::TrainModule mod = train::finetune_module(m, &ad, {});
  ASSERT_FALSE(mod.params.empty());
  EXPECT_EQ(mod.params.back().first, kTokenRowsName);
  const auto groups = train::lora_groups(ad, true);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_TRUE(groups[0].weight_decay);
  EXPECT_FALSE(groups[1].weight_decay);
  ASSERT_EQ(groups[1].params.size(), 1u);
  EXPECT_EQ(groups[1].params[0].node(), ad.token_rows.node());
  // The module's save / load hooks round-trip the rows; another run's ids are refused.
  TempDir t{"baimo_lora_tokens_mod_"};
  std::filesystem::create_directories(t.dir / "ck");
  mod.save_dir((t.dir / "ck").string());
  const Tensor saved = ad.token_rows.value().clone();
  std::fill_n(ad.token_rows.value().data<float>(), ad.token_rows.numel(), 0.f);
  mod.load_dir((t.dir / "ck").string());
  expect_close(ad.token_rows.value(), saved, 0.f);
  LoraAdapter other = lora_test::random_adapter(cfg, 4, 8.f, false, 3, {39});
  const train::TrainModule mod2 = train::finetune_module(m, &other, {});
  EXPECT_THROW(mod2.load_dir((t.dir / "ck").string()), Error);
}

}  // namespace lora_tokens_test
