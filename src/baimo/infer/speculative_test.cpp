// Speculative decoding: greedy output equals plain decoding (n-gram and model drafts, many prompts,
// several k, penalties, the context end); a draft equal to the target is always accepted; the
// rejection rule preserves the target's distribution (empirical frequencies on a tiny vocabulary);
// bad drafts and k are clear errors.
#include "baimo/infer/speculative.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <random>

#include "baimo/infer/constrained/recognizer.h"
#include "baimo/infer/engine.h"
#include "baimo/infer/generate.h"
#include "baimo/infer/model_draft.h"
#include "baimo/infer/ngram_draft.h"
#include "baimo/infer/rollout_test_util.h"
#include "baimo/util/error_of.h"

namespace speculative_test {
using namespace baimo;
using namespace baimo::rollout_testing;

std::shared_ptr<const ModelWeights> weights_of(const ModelConfig& c, uint64_t seed) {
  return std::make_shared<const ModelWeights>(weights_from_transformer(Transformer::random(c, seed)));
}

std::vector<std::vector<int32_t>> prompts(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<int32_t>> out;
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> p(1 + rng() % 14);
    // A small alphabet: repeated n-grams in the prompt for the n-gram draft to find.
    for (auto& t : p) t = static_cast<int32_t>(97 + rng() % 4);
    out.push_back(p);
  }
  return out;
}

struct Outcome {
  std::vector<int32_t> tokens;
  std::string text, finish;
  GenerateResult r;
};

Outcome run(const std::shared_ptr<const ModelWeights>& w, const Tokenizer& tok, const std::vector<int32_t>& prompt,
        const GenerationOptions& o, int64_t ctx, Drafter* drafter = nullptr, int k = 5, bool adaptive = true) {
  Engine engine(w, 1, ctx);
  Sequence seq(tok, prompt, o);
  GenerateOptions go;
  go.drafter = drafter;
  go.draft_k = k;
  go.adaptive_k = adaptive;
  std::string streamed;
  Outcome out;
  out.r = generate(engine, 0, seq, [&](const TokenStep& s) {
    streamed += s.text;
    return true;
  }, go);
  out.tokens = out.r.tokens;
  out.text = out.r.text;
  EXPECT_EQ(streamed, out.text);
  out.finish = out.r.finish_reason;
  // The slot holds the prompt and every generated token fed back (all but the last).
  EXPECT_EQ(engine.cache().length(0), static_cast<int64_t>(prompt.size() + out.tokens.size()) - 1);
  return out;
}

GenerationOptions greedy(int max_tokens) {
  GenerationOptions o;
  o.sampling.temperature = 0;
  o.max_tokens = max_tokens;
  o.ignore_eos = true;
  return o;
}

void expect_same(const Outcome& want, const Outcome& got, const std::string& what) {
  EXPECT_EQ(got.tokens, want.tokens) << what;
  EXPECT_EQ(got.text, want.text) << what;
  EXPECT_EQ(got.finish, want.finish) << what;
}

TEST(Speculative, GreedyEqualsPlainWithNgramAndModelDrafts) {
  const ModelConfig c = tiny_config();
  ModelConfig small = c;  // a smaller draft over the same vocabulary
  small.num_hidden_layers = 1;
  small.hidden_size = 32;
  small.head_dim = 8;
  auto target = weights_of(c, 31), draft = weights_of(small, 32);
  auto tok = byte_tokenizer();
  GenerationOptions penalised = greedy(30);
  penalised.sampling.repetition_penalty = 1.3f;
  int64_t drafted = 0, accepted = 0;
  for (const GenerationOptions& o : {greedy(40), penalised}) {
    for (const auto& prompt : prompts(8, 7)) {
      const Outcome plain = run(target, *tok, prompt, o, 128);
      for (int n : {1, 3}) {
        NgramDrafter ngram(n);
        for (int k : {1, 4, 15}) {
          const Outcome spec = run(target, *tok, prompt, o, 128, &ngram, k);
          expect_same(plain, spec, fmt::format("ngram {} k {}", n, k));
          EXPECT_LE(spec.r.target_passes, static_cast<int64_t>(plain.tokens.size()) - 1);
          drafted += spec.r.drafted;
          accepted += spec.r.accepted;
        }
      }
      for (int k : {2, 5}) {
        ModelDrafter d(draft, 128, o.sampling);
        expect_same(plain, run(target, *tok, prompt, o, 128, &d, k, k == 5), fmt::format("model k {}", k));
      }
    }
  }
  // A random model repeats itself: the n-gram drafts were checked and some taken.
  EXPECT_GT(drafted, 0);
  EXPECT_GT(accepted, 0);
}

// The draft is the target itself: the verification pass computes, row for row, the logits the
// draft's one-token steps computed, so every draft is accepted and each pass yields k + 1 tokens.
TEST(Speculative, DraftEqualToTargetIsAlwaysAccepted) {
  const ModelConfig c = tiny_config();
  auto target = weights_of(c, 41);
  auto tok = byte_tokenizer();
  for (const auto& prompt : prompts(4, 9)) {
    const GenerationOptions o = greedy(33);
    const Outcome plain = run(target, *tok, prompt, o, 128);
    ModelDrafter d(target, 128, o.sampling);
    const Outcome spec = run(target, *tok, prompt, o, 128, &d, 4, false);
    expect_same(plain, spec, "draft = target");
    EXPECT_EQ(spec.r.accepted, spec.r.drafted);
    EXPECT_EQ(spec.r.drafted, 32 - spec.r.target_passes);  // 32 decoded tokens, 5 per pass but the last
    EXPECT_EQ(spec.r.target_passes, 7);                     // 6 passes of 5 tokens, one of 2
  }
}

// On a team of threads (every step threaded) and at the context's end: still the plain tokens,
// with the plain finish ("length" when the context fills up before max_tokens).
TEST(Speculative, GreedyEqualsPlainThreadedAndAtTheContextEnd) {
  const ModelConfig c = tiny_config();
  auto target = weights_of(c, 51);
  auto tok = byte_tokenizer();
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  for (const auto& prompt : prompts(3, 11)) {
    const GenerationOptions o = greedy(100);
    const Outcome plain = run(target, *tok, prompt, o, 40);
    EXPECT_EQ(plain.finish, "length");
    NgramDrafter ngram(2);
    expect_same(plain, run(target, *tok, prompt, o, 40, &ngram, 6), "ngram at the context end");
    ModelDrafter d(weights_of(c, 52), 40, o.sampling);
    expect_same(plain, run(target, *tok, prompt, o, 40, &d, 3), "model at the context end");
  }
  omp_set_num_threads(saved);
}

// Constrained decoding takes drafts too: each row is masked by the grammar state after the tokens
// accepted before it, so greedy output is constrained plain decoding's, and sampled output stays in the
// language.
TEST(Speculative, ConstrainedDecodingWithDrafts) {
  const ModelConfig c = tiny_config();
  auto target = weights_of(c, 71), draft = weights_of(c, 72);
  auto tok = byte_tokenizer();
  const std::string gbnf = "root ::= (\"ab\" | \"ca\" | \"abc\"){4,20} \"!\"\n";
  auto constraint = constrained::Constraint::from_grammar(gbnf, *tok);
  int64_t drafted = 0, accepted = 0;
  for (const auto& prompt : prompts(6, 9)) {
    GenerationOptions o = greedy(60);
    o.constraint = constraint;
    const Outcome plain = run(target, *tok, prompt, o, 128);
    EXPECT_TRUE(constrained::grammar_accepts(constraint->grammar(), plain.text)) << plain.text;
    NgramDrafter ngram(2);
    const Outcome spec = run(target, *tok, prompt, o, 128, &ngram, 6);
    expect_same(plain, spec, "constrained, ngram");
    drafted += spec.r.drafted;
    accepted += spec.r.accepted;
    ModelDrafter d(draft, 128, o.sampling);
    expect_same(plain, run(target, *tok, prompt, o, 128, &d, 4), "constrained, model draft");

    GenerationOptions sampled = o;
    sampled.sampling.temperature = 1.0f;
    sampled.sampling.seed = 5;
    ModelDrafter ds(draft, 128, sampled.sampling);
    const Outcome s = run(target, *tok, prompt, sampled, 128, &ds, 4);
    EXPECT_EQ(s.finish, "stop");
    EXPECT_TRUE(constrained::grammar_accepts(constraint->grammar(), s.text)) << s.text;
  }
  EXPECT_GT(drafted, 0);
  EXPECT_GT(accepted, 0);
}

TEST(Speculative, SampledRunsAreSeededAndStop) {
  const ModelConfig c = tiny_config();
  auto target = weights_of(c, 61), draft = weights_of(c, 62);
  auto tok = byte_tokenizer();
  GenerationOptions o;
  o.sampling.temperature = 0.8f;
  o.sampling.top_k = 40;
  o.sampling.seed = 3;
  o.max_tokens = 25;
  o.ignore_eos = true;
  const std::vector<int32_t> prompt = {97, 98, 97, 98, 97};
  ModelDrafter d1(draft, 64, o.sampling), d2(draft, 64, o.sampling);
  const Outcome a = run(target, *tok, prompt, o, 64, &d1), b = run(target, *tok, prompt, o, 64, &d2);
  expect_same(a, b, "same seed");
  EXPECT_EQ(a.tokens.size(), 25u);
  EXPECT_EQ(a.finish, "length");
  NgramDrafter ngram(2);
  const Outcome g = run(target, *tok, prompt, o, 64, &ngram);
  EXPECT_EQ(g.tokens.size(), 25u);
}

// The rule alone: x ~ q, then verify_draft; the token it returns is distributed as p.
TEST(Speculative, RejectionRulePreservesTheTargetDistribution) {
  const std::vector<float> p = {0.5f, 0.2f, 0.15f, 0.1f, 0.05f, 0.0f};
  const std::vector<float> q = {0.1f, 0.4f, 0.1f, 0.1f, 0.1f, 0.2f};  // mass where p has none
  SamplingParams sp;
  sp.seed = 17;
  Sampler rng(sp);
  std::vector<float> residual;
  const int N = 200000;
  for (int point_mass = 0; point_mass < 2; ++point_mass) {
    std::vector<int> counts(p.size(), 0);
    int accepted = 0;
    for (int i = 0; i < N; ++i) {
      // A point-mass draft always proposes token 1 (as an n-gram lookup would).
      const int32_t x = point_mass ? 1 : rng.draw(q);
      const DraftVerdict v = verify_draft(p, x, point_mass ? nullptr : q.data(), rng, residual);
      ++counts[static_cast<size_t>(v.id)];
      accepted += v.accepted;
    }
    for (size_t t = 0; t < p.size(); ++t)
      EXPECT_NEAR(counts[t] / static_cast<double>(N), p[t], 0.005) << "token " << t << " point mass " << point_mass;
    // Acceptance probability: sum_x min(p, q) (0.55 here), p(1) = 0.2 for the point mass.
    EXPECT_NEAR(accepted / static_cast<double>(N), point_mass ? 0.2 : 0.55, 0.005);
  }
}

// Through Sequence and accept_drafts, with the sampler's truncation (top-k) and temperature: the
// first token's frequencies match the target's sampling distribution.
TEST(Speculative, FirstTokenFrequenciesMatchTheTargetThroughASequence) {
  auto tok = byte_tokenizer();
  const size_t V = 257;
  std::vector<float> row(V, -30.0f);
  row[97] = 2.0f, row[98] = 1.5f, row[99] = 1.0f, row[100] = 0.2f, row[101] = 0.1f;  // top-k 4 drops 101
  GenerationOptions o;
  o.sampling.temperature = 0.7f;
  o.sampling.top_k = 4;
  o.max_tokens = 4;
  std::vector<float> want;
  {
    Sequence s(*tok, {97}, o);
    s.sampling_distribution(row, want);
  }
  std::vector<float> q(V, 0.0f);
  q[98] = 0.6f, q[101] = 0.3f, q[102] = 0.1f;
  SamplingParams draft_params;
  draft_params.seed = 5;
  Sampler draft_rng(draft_params);
  std::vector<int> counts(V, 0);
  std::vector<float> p, residual;
  const int N = 20000;
  for (int i = 0; i < N; ++i) {
    o.sampling.seed = static_cast<uint64_t>(i);
    Sequence s(*tok, {97}, o);
    const int32_t x = draft_rng.draw(q);
    std::vector<float> logits = row;
    logits.insert(logits.end(), row.begin(), row.end());  // rows after the pending token and x
    int32_t first = -1;
    accept_drafts(s, logits, std::span(&x, 1), q, [&](const TokenStep& t) {
      if (first < 0) first = t.id;
      return true;
    }, p, residual);
    ++counts[static_cast<size_t>(first)];
  }
  for (size_t t = 96; t < 104; ++t) EXPECT_NEAR(counts[t] / static_cast<double>(N), want[t], 0.015) << "token " << t;
  EXPECT_EQ(counts[101], 0);  // outside the target's top-k: never emitted, though the draft proposes it
}

TEST(Speculative, NgramDraftProposesTheContinuationOfTheLatestMatch) {
  NgramDrafter d(3);
  std::vector<int32_t> out;
  std::vector<float> q;
  const std::vector<int32_t> h = {5, 1, 2, 3, 9, 8, 1, 2, 3, 7, 6, 1, 2, 3};
  d.propose(h, 2, out, q);
  EXPECT_EQ(out, (std::vector<int32_t>{7, 6}));  // the most recent earlier "1 2 3"
  EXPECT_TRUE(q.empty());
  d.propose(h, 15, out, q);
  EXPECT_EQ(out, (std::vector<int32_t>{7, 6, 1, 2, 3}));  // up to the history's end
  d.propose(std::vector<int32_t>{4, 5, 6, 4}, 3, out, q);   // only a 1-gram matches
  EXPECT_EQ(out, (std::vector<int32_t>{5, 6, 4}));
  d.propose(std::vector<int32_t>{1, 2, 3}, 3, out, q);
  EXPECT_TRUE(out.empty());
}

TEST(Speculative, BadDraftsAndKAreClearErrors) {
  EXPECT_NE(error_of([] { check_draft_k(0); }).find("--draft-k must be between 1 and 15"), std::string::npos);
  EXPECT_NE(error_of([] { check_draft_k(16); }).find("got 16"), std::string::npos);
  EXPECT_EQ(error_of([] { check_draft_k(1); }), "");
  EXPECT_NE(error_of([] { NgramDrafter d(0); }).find("--draft-ngram must be at least 1"), std::string::npos);

  const ModelConfig c = tiny_config();
  auto tok = byte_tokenizer();
  ModelConfig bigger = c;
  bigger.vocab_size = 300;
  EXPECT_EQ(error_of([&] { check_draft_compatible(c, *tok, "T", c, *tok, "D"); }), "");
  EXPECT_NE(error_of([&] { check_draft_compatible(c, *tok, "T", bigger, *tok, "D"); })
                .find("draft model D has a vocabulary of 300 tokens, the target T has 257"),
            std::string::npos);
  // Same size, one token spelled differently.
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(std::string(1, static_cast<char>(b)));
  Tokenizer other = Tokenizer::from_bpe(PreTokenizerKind::Gpt2, bytes, {}, {AddedToken{256, "<|im_end|>", true}});
  EXPECT_NE(error_of([&] { check_draft_compatible(c, *tok, "T", c, other, "D"); }).find("at token id 256"),
            std::string::npos);
  // generate() checks k when a drafter is given.
  Engine engine(weights_of(c, 1), 1, 32);
  Sequence seq(*tok, {97}, greedy(4));
  NgramDrafter ngram(2);
  GenerateOptions go;
  go.drafter = &ngram;
  go.draft_k = 0;
  EXPECT_NE(error_of([&] { generate(engine, 0, seq, {}, go); }).find("--draft-k"), std::string::npos);
}

// The rule needs the distribution sample() draws from: Sampler::distribution against sample()'s
// frequencies, with bias, penalties, temperature, top-k, top-p and min-p, the plain path and greedy.
TEST(Speculative, SamplerDistributionIsWhatSampleDraws) {
  const std::vector<float> logits = {1.0f, 2.5f, 0.3f, 2.0f, -1.0f, 1.8f, 0.9f, 2.2f};
  const std::vector<int32_t> history = {1, 1, 3};
  std::vector<SamplingParams> cases(4);
  cases[0].temperature = 0.8f, cases[0].top_k = 6, cases[0].top_p = 0.9f, cases[0].repetition_penalty = 1.3f;
  cases[0].logit_bias[4] = 3.0f;
  cases[1].temperature = 1.2f, cases[1].min_p = 0.2f, cases[1].presence_penalty = 0.5f, cases[1].frequency_penalty = 0.2f;
  cases[2].temperature = 1.0f;  // the plain path
  cases[3].temperature = 0.0f;  // greedy: a point mass
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    cases[ci].seed = 100 + ci;
    Sampler s(cases[ci]);
    std::vector<float> probs, work = logits;
    s.distribution(work, history, probs);
    ASSERT_EQ(probs.size(), logits.size());
    double total = 0;
    for (float p : probs) total += p;
    EXPECT_NEAR(total, 1.0, 1e-5) << ci;
    const int N = 40000;
    std::vector<int> counts(logits.size(), 0);
    for (int i = 0; i < N; ++i) {
      work = logits;
      ++counts[static_cast<size_t>(s.sample(work, history))];
    }
    for (size_t t = 0; t < logits.size(); ++t)
      EXPECT_NEAR(counts[t] / static_cast<double>(N), probs[t], 0.01) << "case " << ci << " token " << t;
  }
}

}  // namespace speculative_test
