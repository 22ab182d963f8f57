#include "baimo/train/objectives/rollout_batch.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "baimo/autograd/tape.h"
#include "baimo/data/seeded_permutation.h"
#include "baimo/data/sft_packing.h"
#include "baimo/util/error.h"
#include "baimo/util/hash.h"

namespace baimo::train {

using json = nlohmann::json;

std::vector<size_t> next_prompts(uint64_t& position, size_t n_train, int64_t prompts, int rank, int world,
                                 uint64_t seed) {
  const int64_t local = prompts / world;
  std::vector<size_t> ids(static_cast<size_t>(local));
  std::vector<size_t> order;
  uint64_t order_epoch = UINT64_MAX;
  for (int64_t p = 0; p < local; ++p) {
    const uint64_t pos = position + static_cast<uint64_t>(rank * local + p);
    if (pos / n_train != order_epoch) {
      order_epoch = pos / n_train;
      order = seeded_permutation(n_train, mix_seed(seed, order_epoch));
    }
    ids[static_cast<size_t>(p)] = order[pos % n_train];
  }
  position += static_cast<uint64_t>(prompts);
  return ids;
}

Rollouts sample_rollouts(Transformer& model, LoraAdapter* adapter, const std::shared_ptr<const Tokenizer>& tokenizer,
                         std::span<const std::vector<int32_t>> train, const std::vector<size_t>& prompt_ids,
                         const RolloutOptions& ro) {
  const auto t0 = std::chrono::steady_clock::now();
  if (adapter) model.set_lora_dropout(std::nullopt);
  auto weights = std::make_shared<const ModelWeights>(live_weights(model));
  std::vector<std::vector<int32_t>> prompts;
  for (size_t id : prompt_ids) prompts.push_back(train[id]);
  std::vector<std::vector<RolloutSample>> groups = generate_rollouts(weights, tokenizer, prompts, ro);
  weights.reset();
  Rollouts out;
  out.generate_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RolloutBatch& b = out.batch;
  for (size_t p = 0; p < groups.size(); ++p)
    for (RolloutSample& s : groups[p]) {
      if (s.tokens.empty()) fail("internal: a rollout without tokens");
      b.prompt_ids.push_back(prompt_ids[p]);
      b.prompt_len.push_back(prompts[p].size());
      std::vector<int32_t> row = prompts[p];
      row.insert(row.end(), s.tokens.begin(), s.tokens.end());
      b.rows.push_back(std::move(row));
      out.new_tokens += static_cast<double>(s.tokens.size());
      out.samples.push_back(std::move(s));
    }
  return out;
}

RolloutRewards score_rollouts(const RewardFn& reward, std::span<const size_t> prompt_ids,
                              std::span<const RolloutSample> samples, bool held_out) {
  RolloutRewards r = reward(prompt_ids, samples, held_out);
  if (r.total.size() != samples.size())
    fail("the reward function gave {} rewards for {} {}samples", r.total.size(), samples.size(),
         held_out ? "held-out " : "");
  for (size_t i = 0; i < r.total.size(); ++i)
    if (!std::isfinite(r.total[i])) fail("the reward of sample {} is not a finite number ({})", i, r.total[i]);
  return r;
}

double held_out_reward(Transformer& model, LoraAdapter* adapter, const std::shared_ptr<const Tokenizer>& tokenizer,
                       std::span<const std::vector<int32_t>> held_out, int64_t eval_prompts, RolloutOptions ro,
                       const RewardFn& reward, Metrics& out) {
  size_t n = held_out.size();
  if (eval_prompts > 0) n = std::min(n, static_cast<size_t>(eval_prompts));
  if (adapter) model.set_lora_dropout(std::nullopt);
  auto weights = std::make_shared<const ModelWeights>(live_weights(model));
  ro.samples = 1;
  ro.temperature = 0;
  std::vector<std::vector<RolloutSample>> answers = generate_rollouts(weights, tokenizer, held_out.first(n), ro);
  weights.reset();
  std::vector<RolloutSample> flat;
  std::vector<size_t> ids;
  for (size_t p = 0; p < answers.size(); ++p) {
    ids.push_back(p);
    flat.push_back(std::move(answers[p].at(0)));
  }
  const RolloutRewards rewards = score_rollouts(reward, ids, flat, true);
  const double mean = mean_of(rewards.total);
  out = {{"reward", static_cast<float>(mean)}};
  for (const auto& [name, values] : rewards.parts) out.emplace_back("reward/" + name, static_cast<float>(mean_of(values)));
  add_sample_metrics(flat, out);
  return mean;
}

LossRows loss_rows(const RolloutBatch& batch, size_t begin, size_t end) {
  LossRows r;
  r.b = static_cast<int64_t>(end - begin);
  for (size_t i = begin; i < end; ++i) r.t = std::max<int64_t>(r.t, static_cast<int64_t>(batch.rows[i].size()) - 1);
  const size_t T = static_cast<size_t>(r.t);
  r.ids.assign(static_cast<size_t>(r.b) * T, 0);
  r.targets.assign(static_cast<size_t>(r.b) * T, kIgnoreTarget);
  r.mask.assign(static_cast<size_t>(r.b) * T, 0.0f);
  for (size_t i = begin; i < end; ++i) {
    const std::vector<int32_t>& row = batch.rows[i];
    const size_t base = (i - begin) * T;
    for (size_t t = 0; t + 1 < row.size(); ++t) {
      r.ids[base + t] = row[t];
      if (t + 1 >= batch.prompt_len[i]) {
        r.targets[base + t] = row[t + 1];
        r.mask[base + t] = 1.0f;
      }
    }
  }
  return r;
}

std::vector<float> to_layout(const RolloutBatch& batch, const std::vector<std::vector<float>>& per_row, size_t begin,
                             size_t end, int64_t t) {
  if (per_row.empty()) return {};
  std::vector<float> out((end - begin) * static_cast<size_t>(t), 0.0f);
  for (size_t i = begin; i < end; ++i) {
    const size_t base = (i - begin) * static_cast<size_t>(t) + batch.prompt_len[i] - 1;
    std::copy(per_row[i].begin(), per_row[i].end(), out.begin() + static_cast<ptrdiff_t>(base));
  }
  return out;
}

std::vector<std::vector<float>> from_layout(const RolloutBatch& batch, const float* v, size_t begin, size_t end,
                                            int64_t t) {
  std::vector<std::vector<float>> out;
  out.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    const size_t first = (i - begin) * static_cast<size_t>(t) + batch.prompt_len[i] - 1;
    out.emplace_back(v + first, v + first + batch.completion_tokens(i));
  }
  return out;
}

std::vector<std::vector<float>> completion_logprobs(const Transformer& model, const RolloutBatch& batch, size_t begin,
                                                    size_t end) {
  constexpr size_t kChunk = 16;  // rows per no-gradient forward
  std::vector<std::vector<float>> out;
  out.reserve(end - begin);
  ag::NoGradGuard no_grad;
  for (size_t c = begin; c < end; c += kChunk) {
    const size_t c_end = std::min(end, c + kChunk);
    const LossRows r = loss_rows(batch, c, c_end);
    const Shape shape{r.b, r.t};
    const Tensor ids = Tensor::from_ids(shape, r.ids), targets = Tensor::from_ids(shape, r.targets);
    const ag::Var lp = model.token_logprobs(ids, targets, nullptr, nullptr, kIgnoreTarget);
    for (auto& v : from_layout(batch, lp.value().data<float>(), c, c_end, r.t)) out.push_back(std::move(v));
    ag::reset_step();
  }
  return out;
}

std::vector<std::vector<float>> reference_logprobs(Transformer& model, LoraAdapter* adapter,
                                                   const Transformer* reference, const RolloutBatch& batch) {
  if (!adapter) {
    if (!reference) fail("internal: a full fine-tune's reference needs the copy of the start weights");
    return completion_logprobs(*reference, batch, 0, batch.rows.size());
  }
  model.attach_lora(nullptr);  // the base alone is the reference
  std::vector<std::vector<float>> out = completion_logprobs(model, batch, 0, batch.rows.size());
  model.attach_lora(adapter);
  return out;
}

std::unique_ptr<Transformer> copy_weights(const Transformer& model) {
  auto copy = std::make_unique<Transformer>(model.config());
  for (const Transformer::Param& p : copy->params()) {
    ag::Var v = p.var;  // a handle: the copy's own storage
    v.value().copy_from(model.param(p.spec.name).value());
  }
  return copy;
}

double mean_of(std::span<const float> v) {
  double s = 0;
  for (float x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

void add_sample_metrics(std::span<const RolloutSample> samples, Metrics& m) {
  double tokens = 0, stopped = 0, entropy = 0;
  for (const RolloutSample& s : samples) {
    tokens += static_cast<double>(s.tokens.size());
    stopped += s.stopped ? 1 : 0;
    for (float h : s.entropy) entropy += h;
  }
  const double n = std::max<double>(1, static_cast<double>(samples.size()));
  m.emplace_back("completion_length", static_cast<float>(tokens / n));
  m.emplace_back("stop_share", static_cast<float>(stopped / n));
  m.emplace_back("entropy", static_cast<float>(entropy / std::max(1.0, tokens)));
}

void add_reward_metrics(const RolloutRewards& r, Metrics& m) {
  const double mean = mean_of(r.total);
  double var = 0;
  for (float x : r.total) var += (x - mean) * (x - mean);
  m.emplace_back("reward", static_cast<float>(mean));
  m.emplace_back("reward_std", static_cast<float>(std::sqrt(var / std::max<double>(1, r.total.size() - 1.0))));
  for (const auto& [name, values] : r.parts) m.emplace_back("reward/" + name, static_cast<float>(mean_of(values)));
}

json rollout_batch_json(const RolloutBatch& b) {
  json metrics = json::array();
  for (const auto& [k, v] : b.metrics) metrics.push_back({k, v});
  return {{"prompt_ids", b.prompt_ids}, {"rows", b.rows},         {"prompt_len", b.prompt_len},
          {"old_logp", b.old_logp},     {"ref_logp", b.ref_logp}, {"metrics", metrics}};
}

RolloutBatch rollout_batch_from_json(const json& j, const std::string& where) {
  try {
    RolloutBatch b;
    j.at("prompt_ids").get_to(b.prompt_ids);
    j.at("rows").get_to(b.rows);
    j.at("prompt_len").get_to(b.prompt_len);
    j.at("old_logp").get_to(b.old_logp);
    j.at("ref_logp").get_to(b.ref_logp);
    for (const json& m : j.at("metrics")) b.metrics.emplace_back(m.at(0).get<std::string>(), m.at(1).get<float>());
    const size_t n = b.rows.size();
    if (b.prompt_ids.size() != n || b.prompt_len.size() != n) fail("sizes of the rollout batch disagree");
    for (size_t i = 0; i < n; ++i)
      if (b.prompt_len[i] < 1 || b.prompt_len[i] >= b.rows[i].size()) fail("row {} has no completion", i);
    for (const auto* per : {&b.old_logp, &b.ref_logp})
      if (!per->empty()) {
        if (per->size() != n) fail("sizes of the rollout batch disagree");
        for (size_t i = 0; i < n; ++i)
          if ((*per)[i].size() != b.completion_tokens(i)) fail("row {}: log-probs of the wrong length", i);
      }
    return b;
  } catch (const json::exception& e) {
    fail("{}: field \"batch\" is not a rollout batch ({})", where, e.what());
  } catch (const Error& e) {
    fail("{}: field \"batch\" is not a rollout batch ({})", where, e.what());
  }
}

}  // namespace baimo::train
