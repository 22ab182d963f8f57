#include "baimo/compress/config_family.h"

#include "baimo/util/error.h"

namespace baimo {
namespace {

template <class T>
void require_same_field(const T& from, const T& to, const char* field, std::string_view from_what,
                        std::string_view to_what, const char* why) {
  if (from != to) fail("{} {} {} differs from {} {}: {}", to_what, field, to, from_what, from, why);
}

}  // namespace

void require_same_family(const ModelConfig& from, const ModelConfig& to, std::string_view from_what,
                         std::string_view to_what) {
  if (from.is_reward_model() || to.is_reward_model())
    fail("only causal language models change size here; a reward model (score head) cannot");
  auto same = [&](const auto& a, const auto& b, const char* field, const char* why) {
    require_same_field(a, b, field, from_what, to_what, why);
  };
  same(from.model_type, to.model_type, "model_type", "the architecture stays");
  same(from.vocab_size, to.vocab_size, "vocab_size", "the tokenizer stays");
  same(from.head_dim, to.head_dim, "head_dim", "heads keep their size (RoPE's frequencies follow head_dim)");
  same(from.tie_word_embeddings, to.tie_word_embeddings, "tie_word_embeddings", "the head stays");
  same(from.qkv_bias, to.qkv_bias, "q/k/v bias", "the biases stay");
  same(from.o_bias, to.o_bias, "o_proj bias", "the biases stay");
  same(from.rope_theta, to.rope_theta, "rope_theta", "the positions would change meaning");
}

}  // namespace baimo
