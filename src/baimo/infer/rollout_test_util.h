// For rollout_test / live_weights_test: a byte-level tokenizer (256 byte tokens + EOS 256), a tiny
// random Transformer over it, and the training forward's per-token log-probs of a completion.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "baimo/autograd/tape.h"
#include "baimo/model/transformer.h"
#include "baimo/tensor/tensor.h"
#include "baimo/tokenizer/test_byte_tokenizer.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo::rollout_testing {

using baimo::test_tokenizers::byte_tokenizer;

inline ModelConfig tiny_config() {
  ModelConfig c;
  c.vocab_size = 257;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 128;
  c.initializer_range = 0.2;
  c.eos_token_ids = {256};
  c.validate("test");
  return c;
}

// log_softmax(logits(prompt + completion))[t] at the completion's tokens -> (completion.size()),
// through Transformer::token_logprobs (the training forward, LoRA included when attached).
inline std::vector<float> training_logprobs(const Transformer& m, const std::vector<int32_t>& prompt,
                                            const std::vector<int32_t>& completion) {
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), completion.begin(), completion.end());
  const int64_t T = static_cast<int64_t>(all.size()) - 1;
  std::vector<int32_t> ids(all.begin(), all.end() - 1), targets(all.begin() + 1, all.end());
  ag::NoGradGuard no_grad;
  const ag::Var lp = m.token_logprobs(Tensor::from_ids({1, T}, ids), Tensor::from_ids({1, T}, targets));
  const float* v = lp.value().data<float>();
  return std::vector<float>(v + T - static_cast<int64_t>(completion.size()), v + T);
}

}  // namespace baimo::rollout_testing
