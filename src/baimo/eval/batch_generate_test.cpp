#include "baimo/eval/batch_generate.h"

#include <gtest/gtest.h>

#include "baimo/eval/test_model.h"
#include "baimo/infer/engine.h"
#include "baimo/infer/generate.h"
#include "baimo/util/error.h"

using namespace baimo;
using namespace baimo::eval;

// Greedy, with and without a repetition penalty (eval run --repetition-penalty): the penalty reaches
// each sequence's sampler, so the batch gives what generate() gives with the same sampling settings.
class BatchGenerateGreedy : public ::testing::TestWithParam<float> {};

TEST_P(BatchGenerateGreedy, EqualsOneAtATimeWhateverTheBatch) {
  auto tok = test_fixtures::byte_tokenizer();
  auto w = test_fixtures::byte_model();
  std::vector<std::vector<int32_t>> prompts;
  for (const char* p : {"Q: 12 + 30?\nA:", "hello", "把下面的字倒过来写：山水", "x", "The cat sat on the mat and"}) {
    std::vector<int32_t> ids;
    for (uint32_t id : tok->encode(p)) ids.push_back(static_cast<int32_t>(id));
    prompts.push_back(ids);
  }
  BatchGenerateOptions o;
  o.ctx = 128;
  o.max_tokens = 12;
  o.stop = {"\n"};
  o.repetition_penalty = GetParam();
  // The reference: generate() (infer/generate.h) on one slot, prompt by prompt.
  std::vector<GeneratedSample> want;
  Engine engine(w, 1, o.ctx);
  for (auto& p : prompts) {
    engine.cache().truncate(0, 0);
    GenerationOptions g;
    g.sampling.temperature = 0;
    g.sampling.repetition_penalty = o.repetition_penalty;
    g.max_tokens = o.max_tokens;
    g.stop = o.stop;
    Sequence seq(*tok, p, g);
    GenerateResult r = generate(engine, 0, seq);
    want.push_back({r.text, static_cast<int64_t>(r.tokens.size()), r.finish_reason == "stop"});
  }
  for (int slots : {1, 3, 8}) {
    o.slots = slots;
    int64_t done = 0;
    auto got = batch_generate(w, tok, prompts, o, [&](int64_t d) { done = d; });
    EXPECT_EQ(done, static_cast<int64_t>(prompts.size()));
    ASSERT_EQ(got.size(), prompts.size());
    for (size_t p = 0; p < prompts.size(); ++p) {
      ASSERT_EQ(got[p].size(), 1u);
      EXPECT_EQ(got[p][0].text, want[p].text) << "slots " << slots << " prompt " << p;
      EXPECT_EQ(got[p][0].stopped, want[p].stopped) << p;
      EXPECT_LE(got[p][0].tokens, o.max_tokens);
      if (!got[p][0].stopped) {
        EXPECT_EQ(got[p][0].tokens, o.max_tokens) << p;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RepetitionPenalty, BatchGenerateGreedy, ::testing::Values(1.0f, 1.3f));

TEST(BatchGenerate, SamplesAndErrors) {
  auto tok = test_fixtures::byte_tokenizer();
  auto w = test_fixtures::byte_model();
  std::vector<std::vector<int32_t>> prompts = {{72, 105}, {65}};
  BatchGenerateOptions o;
  o.ctx = 64;
  o.max_tokens = 6;
  o.samples = 3;
  o.temperature = 1.0f;
  o.seed = 9;
  auto a = batch_generate(w, tok, prompts, o), b = batch_generate(w, tok, prompts, o);
  ASSERT_EQ(a.size(), 2u);
  for (size_t p = 0; p < 2; ++p) {
    ASSERT_EQ(a[p].size(), 3u);
    for (size_t k = 0; k < 3; ++k) EXPECT_EQ(a[p][k].text, b[p][k].text);  // seeded
  }
  std::vector<std::vector<int32_t>> too_long = {std::vector<int32_t>(64, 65)};
  EXPECT_THROW(batch_generate(w, tok, too_long, o), Error);
  std::vector<std::vector<int32_t>> empty = {{}};
  EXPECT_THROW(batch_generate(w, tok, empty, o), Error);
}
