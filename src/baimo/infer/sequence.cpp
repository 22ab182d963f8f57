#include "baimo/infer/sequence.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "baimo/infer/softmax_row.h"
#include "baimo/util/error.h"

namespace baimo {

Sequence::Sequence(const Tokenizer& tokenizer, std::vector<int32_t> prompt, GenerationOptions options)
    : tok_(&tokenizer),
      options_(std::move(options)),
      tokens_(std::move(prompt)),
      prompt_size_(tokens_.size()),
      sampler_(options_.sampling),
      decoder_(tokenizer) {
  if (options_.max_tokens < 1) fail("max_tokens must be at least 1, got {}", options_.max_tokens);
  if (options_.top_logprobs < -1) fail("top_logprobs must be >= 0, got {}", options_.top_logprobs);
  for (const auto& s : options_.stop)
    if (s.empty()) fail("a stop string is empty");
  if (options_.constraint) {
    cstate_.emplace(options_.constraint);
    if (auto e = tok_->eos_id()) end_ids_.push_back(static_cast<int32_t>(*e));
    end_ids_.insert(end_ids_.end(), options_.eos_ids.begin(), options_.eos_ids.end());
    for (const auto& s : options_.stop)
      if (auto id = tok_->token_to_id(s)) end_ids_.push_back(static_cast<int32_t>(*id));
  }
}

bool Sequence::is_eos(int32_t id) const {
  if (options_.ignore_eos) return false;
  if (auto e = tok_->eos_id(); e && static_cast<int64_t>(*e) == id) return true;
  return std::find(options_.eos_ids.begin(), options_.eos_ids.end(), id) != options_.eos_ids.end();
}

size_t Sequence::stop_holdback() const {
  size_t hold = 0;
  for (const auto& s : options_.stop)
    for (size_t k = std::min(s.size() - 1, pending_.size()); k > hold; --k)
      if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
  return hold;
}

TokenStep Sequence::finish(TokenStep step, const char* reason, size_t keep) {
  step.text = pending_.substr(0, keep);
  pending_.clear();
  step.finished = true;
  step.finish_reason = reason;
  finished_ = true;
  finish_reason_ = reason;
  return step;
}

std::string Sequence::flush(const char* reason) {
  std::string out;
  if (finished_) return out;
  out.swap(pending_);
  out += decoder_.finish();
  finished_ = true;
  finish_reason_ = reason;
  return out;
}

TokenStep Sequence::accept(std::span<float> logits) {
  if (finished_) fail("this sequence has finished; no more tokens");
  const size_t V = logits.size();
  if (V == 0) fail("empty logits row");
  int32_t id;
  float lse;
  if (cstate_) {
    // The sampler draws from the masked row; the reported log-probs stay the raw model's.
    id = sampler_.sample(constrained_row(logits), tokens_);
    lse = std::numeric_limits<float>::quiet_NaN();
  } else if (V <= tok_->vocab_size() && sampler_.plain(V)) {
    // The sampler reads the logits without changing them; at temperature 1 its normaliser is the
    // raw logits' own.
    id = sampler_.sample(logits, tokens_);
    lse = sampler_.last_raw_lse();
  } else {
    work_.assign(logits.begin(), logits.end());
    mask_padded_ids(work_);
    id = sampler_.sample(work_, tokens_);
    lse = std::numeric_limits<float>::quiet_NaN();
  }
  return record(logits, id, sampler_.last_logprob(), lse);
}

TokenStep Sequence::accept_token(std::span<const float> logits, int32_t id, float sample_logprob) {
  if (finished_) fail("this sequence has finished; no more tokens");
  if (logits.empty()) fail("empty logits row");
  if (id < 0 || static_cast<size_t>(id) >= logits.size())
    fail("token id {} is outside the vocabulary (size {})", id, logits.size());
  return record(logits, id, sample_logprob, std::numeric_limits<float>::quiet_NaN());
}

void Sequence::mask_padded_ids(std::vector<float>& row) const {
  if (row.size() > tok_->vocab_size())
    std::fill(row.begin() + tok_->vocab_size(), row.end(), -std::numeric_limits<float>::infinity());
}

std::span<float> Sequence::constrained_row(std::span<const float> logits) {
  masked_.assign(logits.begin(), logits.end());
  mask_padded_ids(masked_);
  if (cstate_->apply(masked_, end_ids_) == 0) {
    if (end_ids_.empty()) fail("the grammar allows no token here and there is no end-of-sequence token");
    masked_[static_cast<size_t>(end_ids_.front())] = 0;  // nothing fits: end the text
  }
  return masked_;
}

void Sequence::sampling_distribution(std::span<const float> logits, std::vector<float>& probs) {
  if (cstate_) {
    sampler_.distribution(constrained_row(logits), tokens_, probs);
    return;
  }
  work_.assign(logits.begin(), logits.end());
  mask_padded_ids(work_);
  sampler_.distribution(work_, tokens_, probs);
}

TokenStep Sequence::record(std::span<const float> logits, int32_t id, float sample_logprob, float lse) {
  const size_t V = logits.size();
  TokenStep step;
  step.id = id;
  if (std::isnan(lse)) {  // log-softmax normaliser of the raw logits (float terms, double sum)
    const float mx = softmax::row_max(logits.data(), V);
    lse = mx + static_cast<float>(std::log(softmax::exp_sum(logits.data(), V, 1.0f, mx, nullptr, nullptr)));
  }
  step.logprob = logits[static_cast<size_t>(step.id)] - lse;
  step.sample_logprob = sample_logprob;
  // Entropy of the raw distribution, H = lse - sum_i p_i l_i with p_i = e^(l_i - lse): one vectorised
  // exp pass (the probabilities into work_, free once the token is drawn) and a dot product in double.
  work_.resize(V);
  softmax::exp_sum(logits.data(), V, 1.0f, lse, work_.data(), nullptr);
  double expected_logit = 0;
  for (size_t i = 0; i < V; ++i) expected_logit += static_cast<double>(work_[i]) * static_cast<double>(logits[i]);
  step.entropy = static_cast<float>(static_cast<double>(lse) - expected_logit);
  if (options_.top_logprobs > 0) {
    const size_t k = std::min(V, static_cast<size_t>(options_.top_logprobs));
    candidates_.resize(V);
    for (size_t i = 0; i < V; ++i) candidates_[i] = {logits[i], static_cast<int32_t>(i)};
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(k), candidates_.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    for (size_t i = 0; i < k; ++i) step.top.emplace_back(candidates_[i].second, candidates_[i].first - lse);
  }
  tokens_.push_back(step.id);
  ++generated_;

  if (is_eos(step.id) || (cstate_ && std::find(end_ids_.begin(), end_ids_.end(), step.id) != end_ids_.end())) {
    pending_ += decoder_.finish();
    return finish(std::move(step), "stop", pending_.size());
  }
  pending_ += decoder_.push(static_cast<uint32_t>(step.id));
  if (cstate_ && (!cstate_->advance(tok_->token_bytes(static_cast<uint32_t>(step.id))) || cstate_->finished())) {
    pending_ += decoder_.finish();  // the constrained text is complete
    size_t first = pending_.size();
    for (const auto& s : options_.stop) first = std::min(first, pending_.find(s));
    return finish(std::move(step), "stop", first);
  }
  size_t first = std::string::npos;
  for (const auto& s : options_.stop) first = std::min(first, pending_.find(s));
  if (first != std::string::npos) return finish(std::move(step), "stop", first);
  if (generated_ >= options_.max_tokens) {
    pending_ += decoder_.finish();
    return finish(std::move(step), "length", pending_.size());
  }
  const size_t emit = pending_.size() - stop_holdback();
  step.text = pending_.substr(0, emit);
  pending_.erase(0, emit);
  return step;
}

}  // namespace baimo
