// What the GRPO and PPO objective tests share: a micro Llama over the byte tokenizer
// (tokenizer/test_byte_tokenizer.h; vocab 257, context 64), random byte prompts, a reward (the share of
// an answer's tokens that are lower-case letters, logged as the part "letters"), Trainer options with a
// constant lr and no decay, and a named metric's value.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "baimo/model/config.h"
#include "baimo/tokenizer/test_byte_tokenizer.h"
#include "baimo/train/objectives/rollout_batch.h"
#include "baimo/train/trainer.h"

namespace baimo::train::rl_testing {

using baimo::test_tokenizers::byte_tokenizer;

inline ModelConfig byte_config() {
  ModelConfig c;
  c.vocab_size = 257;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  c.tie_word_embeddings = true;
  c.validate("test");
  return c;
}

inline std::vector<std::vector<int32_t>> prompts(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int32_t>> out(n);
  for (auto& p : out)
    for (size_t t = 0, len = 2 + rng() % 4; t < len; ++t) p.push_back(static_cast<int32_t>(32 + rng() % 60));
  return out;
}

inline RolloutRewards letter_share(std::span<const size_t>, std::span<const RolloutSample> samples, bool) {
  RolloutRewards r;
  for (const RolloutSample& s : samples) {
    double letters = 0;
    for (int32_t id : s.tokens) letters += id >= 'a' && id <= 'z';
    r.total.push_back(static_cast<float>(letters / static_cast<double>(s.tokens.size())));
  }
  r.parts.emplace_back("letters", r.total);
  return r;
}

inline TrainerOptions trainer_options(int64_t steps, float lr, int64_t grad_accum = 1) {
  TrainerOptions t;
  t.steps = steps;
  t.grad_accum = grad_accum;
  t.lr = lr;
  t.min_lr = lr;
  t.warmup = 0;
  t.weight_decay = 0;
  t.eval_interval = 0;
  t.beta2 = 0.999f;
  return t;
}

inline float metric(const std::vector<std::pair<std::string, float>>& m, const std::string& name) {
  for (const auto& [k, v] : m)
    if (k == name) return v;
  ADD_FAILURE() << "no metric " << name;
  return NAN;
}

}  // namespace baimo::train::rl_testing
