#include "baimo/model/reward_model.h"

#include <algorithm>

#include "baimo/autograd/tape.h"
#include "baimo/model/init.h"
#include "baimo/util/error.h"

namespace baimo {

Transformer make_reward_model(const Transformer& lm, uint64_t seed, std::optional<int64_t> pad_id) {
  const ModelConfig& lc = lm.config();
  if (lc.is_reward_model()) fail("make_reward_model: the model is already a reward model ({})", lc.architecture());
  if (!lm.frozen_params().empty()) fail("make_reward_model: the model has a frozen (quantized) base; load it as f32");
  ModelConfig rc = lc;
  rc.head = ModelHead::SequenceClassification;
  rc.num_labels = 1;
  if (!rc.pad_token_id)
    rc.pad_token_id = pad_id ? *pad_id : !rc.eos_token_ids.empty() ? rc.eos_token_ids.front() : 0;
  Transformer rm(rc);
  for (const Transformer::Param& p : rm.params()) {
    float* dst = p.var.value().data<float>();
    const auto n = static_cast<size_t>(p.var.numel());
    if (p.spec.role == ParamRole::Score) {
      init_param(p.spec, rc.initializer_range, seed, {dst, n});
      continue;
    }
    const ag::Var& src = lm.param(p.spec.name);
    std::copy(src.value().data<float>(), src.value().data<float>() + n, dst);
  }
  return rm;
}

RewardBatch make_reward_batch(const std::vector<std::vector<int32_t>>& seqs, size_t begin, size_t end, int32_t pad) {
  size_t T = 0;
  for (size_t i = begin; i < end; ++i) T = std::max(T, seqs[i].size());
  const size_t B = end - begin;
  std::vector<int32_t> ids(B * T, pad), last(B);
  for (size_t b = 0; b < B; ++b) {
    const std::vector<int32_t>& s = seqs[begin + b];
    std::copy(s.begin(), s.end(), ids.begin() + static_cast<ptrdiff_t>(b * T));
    last[b] = static_cast<int32_t>(b * T + s.size() - 1);
  }
  return {Tensor::from_ids(Shape{static_cast<int64_t>(B), static_cast<int64_t>(T)}, ids),
          Tensor::from_ids(Shape{static_cast<int64_t>(B)}, last)};
}

std::vector<float> score_sequences(const Transformer& rm, const std::vector<std::vector<int32_t>>& seqs,
                                   int64_t batch) {
  const ModelConfig& c = rm.config();
  require_reward_model(c, "the model");
  if (batch < 1) fail("score_sequences: batch {} must be at least 1", batch);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto n = static_cast<int64_t>(seqs[i].size());
    if (n == 0) fail("sequence {}: no tokens to score", i);
    if (n > c.max_position_embeddings)
      fail("sequence {}: {} tokens exceed the model's context of {} (max_position_embeddings)", i, n,
           c.max_position_embeddings);
    for (int32_t id : seqs[i])
      if (id < 0 || id >= c.vocab_size) fail("sequence {}: token id {} is outside the vocabulary [0, {})", i, id, c.vocab_size);
  }
  const int32_t pad = static_cast<int32_t>(c.pad_token_id.value_or(0));
  ag::NoGradGuard no_grad;
  std::vector<float> out;
  out.reserve(seqs.size());
  for (size_t begin = 0; begin < seqs.size(); begin += static_cast<size_t>(batch)) {
    const size_t end = std::min(seqs.size(), begin + static_cast<size_t>(batch));
    const RewardBatch b = make_reward_batch(seqs, begin, end, pad);
    const ag::Var r = rm.rewards(b.ids, nullptr, nullptr, b.last_rows);
    out.insert(out.end(), r.value().data<float>(), r.value().data<float>() + r.numel());
    ag::reset_step();
  }
  return out;
}

}  // namespace baimo
