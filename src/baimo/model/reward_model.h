// Reward models: the Hugging Face sequence-classification layout over the same trunk.
//   config.json  architectures ["<Llama|Qwen2|Mistral>ForSequenceClassification"], num_labels 1,
//                id2label {"0": "LABEL_0"}, label2id {"LABEL_0": 0}, pad_token_id (config.h)
//   weights      model.* (the trunk, as a causal LM has it), score.weight (1, C), no lm_head
// reward(sequence) = score . norm(h)[last token of the sequence] (transformers takes the last
// non-pad token; baimo takes each sequence's last token by index, so padding never matters).
// Contract:
// - make_reward_model(lm, seed): a new Transformer (its own parameter Vars, values copied) with
//   lm's trunk, no lm_head, and score.weight ~ N(0, initializer_range) from init.h with `seed`
//   (deterministic). pad_token_id: lm's config's, else `pad_id`, else the first eos id, else 0.
//   An f32 model only (a frozen base: baimo::Error); a reward model in: baimo::Error.
// - score_sequences(rm, seqs, batch): the rewards of token sequences, no gradient, `batch`
//   sequences per forward, right-padded to the longest of the batch (causal attention: padding
//   after a sequence does not change it). Every sequence must be non-empty, no longer than
//   max_position_embeddings and inside the vocabulary (baimo::Error naming the sequence index).
//   Uses and resets the calling thread's tape and arena (ag::reset_step): not inside a training step.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "baimo/model/transformer.h"

namespace baimo {

Transformer make_reward_model(const Transformer& lm, uint64_t seed, std::optional<int64_t> pad_id = std::nullopt);

std::vector<float> score_sequences(const Transformer& rm, const std::vector<std::vector<int32_t>>& seqs,
                                   int64_t batch = 8);

// One padded batch of sequences: ids I32 (B, T) (right-padded with pad), last_rows I32 (B): b*T + len_b - 1.
struct RewardBatch {
  Tensor ids, last_rows;
};
RewardBatch make_reward_batch(const std::vector<std::vector<int32_t>>& seqs, size_t begin, size_t end, int32_t pad);

}  // namespace baimo
