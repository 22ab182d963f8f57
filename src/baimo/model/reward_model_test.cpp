// Reward models: the sequence-classification config, layout, make_reward_model, rewards() and
// score_sequences, save/load as a transformers checkpoint, and causal-LM paths refusing one.
#include "baimo/model/reward_model.h"

#include <gtest/gtest.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "baimo/autograd/gradcheck.h"
#include "baimo/autograd/tape.h"
#include "baimo/infer/model_weights.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

namespace reward_model_test {
using json = nlohmann::json;
using namespace baimo;

const char* kSeqClsConfig = R"({
  "architectures": ["Qwen2ForSequenceClassification"], "model_type": "qwen2", "vocab_size": 64,
  "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "max_position_embeddings": 32, "tie_word_embeddings": true,
  "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}, "pad_token_id": 5, "eos_token_id": 3
})";

// The causal LM of the same shape (tied or not).
ModelConfig qwen_tiny(bool tied = true) {
  ModelConfig c = parse_model_config_text(kSeqClsConfig, "test config");
  c.head = ModelHead::CausalLM;
  c.pad_token_id.reset();
  c.tie_word_embeddings = tied;
  return c;
}

std::vector<int32_t> random_seq(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = static_cast<int32_t>(rng() % 64);
  return v;
}

std::string expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(RewardModelConfig, ParsesAndWritesBackTheSequenceClassificationLayout) {
  const ModelConfig c = parse_model_config_text(kSeqClsConfig, "rm/config.json");
  EXPECT_TRUE(c.is_reward_model());
  EXPECT_EQ(c.num_labels, 1);
  EXPECT_EQ(c.pad_token_id, 5);
  EXPECT_EQ(c.architecture(), "Qwen2ForSequenceClassification");
  const json j = model_config_to_json(c);
  EXPECT_EQ(j["architectures"], json::array({"Qwen2ForSequenceClassification"}));
  EXPECT_EQ(j["num_labels"], 1);
  EXPECT_EQ(j["id2label"], json({{"0", "LABEL_0"}}));
  EXPECT_EQ(j["label2id"], json({{"LABEL_0", 0}}));
  EXPECT_EQ(j["pad_token_id"], 5);
  const ModelConfig back = parse_model_config(j, "written");
  EXPECT_TRUE(back.is_reward_model());
  EXPECT_EQ(model_config_to_json(back), j);
  // A causal LM keeps its pad_token_id too and has no label fields.
  ModelConfig lm = c;
  lm.head = ModelHead::CausalLM;
  EXPECT_EQ(model_config_to_json(lm)["architectures"][0], "Qwen2ForCausalLM");
  EXPECT_FALSE(model_config_to_json(lm).contains("id2label"));
}

TEST(RewardModelConfig, RejectsMismatchedArchitectureAndSeveralLabels) {
  json j = json::parse(kSeqClsConfig);
  j["architectures"] = {"LlamaForSequenceClassification"};
  EXPECT_NE(expect_error([&] { parse_model_config(j, "c.json"); }).find("does not match model_type qwen2"), std::string::npos);
  j = json::parse(kSeqClsConfig);
  j["id2label"] = {{"0", "A"}, {"1", "B"}};
  j["label2id"] = {{"A", 0}, {"B", 1}};
  EXPECT_NE(expect_error([&] { parse_model_config(j, "c.json"); }).find("num_labels"), std::string::npos);
  j = json::parse(kSeqClsConfig);
  j["pad_token_id"] = 64;
  EXPECT_NE(expect_error([&] { parse_model_config(j, "c.json"); }).find("pad_token_id"), std::string::npos);
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["pad_token_id"] = -1;  // old Llama conversions: no pad
  EXPECT_FALSE(parse_model_config(j, "c.json").pad_token_id);
  j = json::parse(kSeqClsConfig);
  j["architectures"] = {"LlamaForSequenceClassification"};
  j["model_type"] = "llama";
  EXPECT_EQ(parse_model_config(j, "c.json").architecture(), "LlamaForSequenceClassification");
}

TEST(RewardModelLayout, ScoreHeadInPlaceOfLmHead) {
  for (bool tied : {true, false}) {
    ModelConfig c = qwen_tiny(tied);
    c.head = ModelHead::SequenceClassification;
    const auto layout = param_layout(c);
    EXPECT_EQ(layout.back().name, "score.weight");
    EXPECT_EQ(layout.back().shape, (std::vector<int64_t>{1, 32}));
    for (const auto& s : layout) EXPECT_NE(s.name, "lm_head.weight");
    int64_t n = 0;
    for (const auto& s : layout) n += s.numel();
    EXPECT_EQ(n, c.parameter_count());
  }
}

TEST(RewardModel, MakeCopiesTheTrunkAndSeedsTheHead) {
  const Transformer lm = Transformer::random(qwen_tiny(false), 7);
  const Transformer a = make_reward_model(lm, 1), b = make_reward_model(lm, 1), c = make_reward_model(lm, 2);
  EXPECT_TRUE(a.config().is_reward_model());
  EXPECT_EQ(a.config().pad_token_id, 3);  // the first eos id
  const float* w = lm.param("model.layers.1.mlp.down_proj.weight").value().data<float>();
  const float* v = a.param("model.layers.1.mlp.down_proj.weight").value().data<float>();
  EXPECT_EQ(std::vector<float>(w, w + 10), std::vector<float>(v, v + 10));
  EXPECT_NE(lm.param("model.norm.weight").node(), a.param("model.norm.weight").node());  // own Vars
  const float* sa = a.score_weight().value().data<float>();
  const float* sb = b.score_weight().value().data<float>();
  const float* sc = c.score_weight().value().data<float>();
  EXPECT_EQ(std::vector<float>(sa, sa + 32), std::vector<float>(sb, sb + 32));
  EXPECT_NE(std::vector<float>(sa, sa + 32), std::vector<float>(sc, sc + 32));
  double var = 0;
  for (int i = 0; i < 32; ++i) var += sa[i] * sa[i];
  EXPECT_LT(std::sqrt(var / 32), 0.05);  // ~ N(0, 0.02)
  EXPECT_NE(expect_error([&] { make_reward_model(a, 1); }).find("already a reward model"), std::string::npos);
  EXPECT_NE(expect_error([&] { a.logits(Tensor::from_ids({1, 2}, std::vector<int32_t>{1, 2})); }).find("is a reward model"),
            std::string::npos);
  EXPECT_NE(expect_error([&] { lm.rewards(Tensor::from_ids({1, 2}, std::vector<int32_t>{1, 2}), nullptr, nullptr,
                                          Tensor::from_ids({1}, std::vector<int32_t>{1})); })
                .find("has no score head"),
            std::string::npos);
}

TEST(RewardModel, RewardIsTheScoreOfTheLastTokenAndPaddingDoesNotMatter) {
  const Transformer rm = make_reward_model(Transformer::random(qwen_tiny(), 3), 9);
  const std::vector<std::vector<int32_t>> seqs = {random_seq(5, 1), random_seq(11, 2), random_seq(1, 3), random_seq(8, 4)};
  const std::vector<float> batched = score_sequences(rm, seqs, 3);
  ASSERT_EQ(batched.size(), seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    // Alone, unpadded: the hidden state of the last token dotted with the score head.
    ag::NoGradGuard g;
    const auto T = static_cast<int64_t>(seqs[i].size());
    const ag::Var h = rm.hidden(Tensor::from_ids({1, T}, seqs[i]));
    const float* last = h.value().data<float>() + (T - 1) * 32;
    const float* s = rm.score_weight().value().data<float>();
    double r = 0;
    for (int c = 0; c < 32; ++c) r += static_cast<double>(last[c]) * s[c];
    EXPECT_NEAR(batched[i], r, 1e-5 * (1 + std::abs(r))) << "sequence " << i;
    ag::reset_step();
  }
  EXPECT_NE(expect_error([&] { score_sequences(rm, {random_seq(33, 1)}); }).find("sequence 0: 33 tokens exceed"),
            std::string::npos);
  EXPECT_NE(expect_error([&] { score_sequences(rm, {{1}, {}}); }).find("sequence 1: no tokens"), std::string::npos);
}

TEST(RewardModel, RewardsGradcheck) {
  const Transformer rm = make_reward_model(Transformer::random(qwen_tiny(), 5), 11);
  // Scale the head up so that the rewards (and their gradients) are not tiny.
  float* s = rm.score_weight().value().data<float>();
  for (int c = 0; c < 32; ++c) s[c] *= 30;
  const RewardBatch b = make_reward_batch({random_seq(4, 1), random_seq(6, 2), random_seq(2, 3)}, 0, 3, 0);
  const std::vector<ag::Var> in = {rm.score_weight(), rm.param("model.layers.0.self_attn.q_proj.weight"),
                                   rm.param("model.norm.weight")};
  ag::GradCheckOptions o;
  o.eps = 1e-2f;
  o.rtol = 2e-2f;
  o.atol = 1e-3f;
  o.max_checks = 8;
  // A Bradley-Terry-like loss over two of the rewards plus the third.
  auto loss = [&](const std::vector<ag::Var>&) {
    const ag::Var r = rm.rewards(b.ids, nullptr, nullptr, b.last_rows);
    return ag::sum(ag::mul(r, r));
  };
  auto res = ag::gradcheck(loss, in, o);
  EXPECT_TRUE(res.ok) << res.first_failure;
  EXPECT_EQ(res.checked, 3 * 8);
}

TEST(RewardModel, GatherRowsOfANonLeafTableGradcheck) {
  // rewards() gathers rows of the hidden states with ag::embedding over a non-leaf table.
  std::mt19937 rng(3);
  std::vector<float> xv(12);
  for (auto& x : xv) x = std::uniform_real_distribution<float>(-1, 1)(rng);
  const ag::Var x = ag::Var::leaf(Tensor::from_data({4, 3}, xv), true);
  const Tensor rows = Tensor::from_ids({3}, std::vector<int32_t>{2, 0, 2});
  auto res = ag::gradcheck(
      [&](const std::vector<ag::Var>& in) {
        const ag::Var g = ag::embedding(ag::mul(in[0], in[0]), rows);  // (3, 3), row 2 twice
        return ag::sum(ag::mul(g, g));
      },
      {x});
  EXPECT_TRUE(res.ok) << res.first_failure;
  EXPECT_EQ(res.checked, 12);
}

TEST(RewardModel, SavesAsASequenceClassificationCheckpointAndCausalLoadersRefuseIt) {
  TempDir t("baimo_rm_");
  const std::string dir = (t.dir / "rm").string();
  const Transformer rm = make_reward_model(Transformer::random(qwen_tiny(), 3), 9);
  rm.save(dir);
  const json cfg = json::parse(read_file(dir + "/config.json"));
  EXPECT_EQ(cfg["architectures"][0], "Qwen2ForSequenceClassification");
  EXPECT_EQ(cfg["pad_token_id"], 3);
  SafetensorsFile f(dir + "/model.safetensors");
  EXPECT_NE(f->find("score.weight"), nullptr);
  EXPECT_EQ(f->find("lm_head.weight"), nullptr);
  const Transformer back = Transformer::load(dir);
  const std::vector<std::vector<int32_t>> seqs = {random_seq(5, 1), random_seq(7, 2)};
  EXPECT_EQ(score_sequences(back, seqs), score_sequences(rm, seqs));
  EXPECT_NE(expect_error([&] { load_inference_weights(dir); })
                .find(dir + " is a reward model (Qwen2ForSequenceClassification): use baimo rm score or serve /v1/rewards"),
            std::string::npos);
}

}  // namespace reward_model_test
