#include "baimo/infer/batch_scheduler.h"

#include <omp.h>

#include <algorithm>

#include "baimo/infer/max_tokens.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// A later sibling (or an unrelated request) waits for a prompt being prefilled in another slot
// when it would save at least this many prompt tokens of prefill by copying it afterwards.
constexpr size_t kWaitForPrefixTokens = 32;

}  // namespace

BatchScheduler::BatchScheduler(std::shared_ptr<const ModelWeights> model, std::shared_ptr<const Tokenizer> tokenizer,
                               SchedulerOptions options)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), options_(options) {
  if (options_.n_slots < 1) fail("--parallel must be at least 1, got {}", options_.n_slots);
  if (options_.ctx < 2) fail("--ctx must be at least 2, got {}", options_.ctx);
  if (options_.max_queue < 0) fail("--max-queue must be >= 0, got {}", options_.max_queue);
  if (options_.prefill_chunk < 1 || options_.step_tokens < 1) fail("scheduler chunk sizes must be positive");
  if (options_.draft_ngram != 0 && options_.draft_model)
    fail("--draft-model and --draft-ngram are two kinds of draft: give one of them");
  if (options_.draft_ngram != 0) ngram_ = std::make_unique<NgramDrafter>(options_.draft_ngram);
  if (options_.draft_model)
    model_drafter_ = std::make_unique<BatchModelDrafter>(options_.draft_model, options_.n_slots, options_.ctx);
  if (speculative()) check_draft_k(options_.draft_k);
  engine_ = std::make_unique<Engine>(model_, options_.n_slots, options_.ctx);
  slots_.resize(options_.n_slots);
  thread_ = std::thread([this] { run(); });
}

BatchScheduler::~BatchScheduler() { stop(); }

std::shared_ptr<RequestChannel> BatchScheduler::submit(std::vector<int32_t> prompt, GenerationOptions options, int n) {
  if (prompt.empty()) fail("the prompt is empty");
  if (static_cast<int64_t>(prompt.size()) >= options_.ctx)
    fail("the prompt has {} tokens; the context holds {}", prompt.size(), options_.ctx);
  if (n < 1) fail("n must be at least 1, got {}", n);
  if (options.max_tokens < 0 || (options.max_tokens == 0 && !options.prompt_logprobs))
    fail("max_tokens must be at least 1 (0 only with prompt_logprobs), got {}", options.max_tokens);
  if (options.max_tokens > 0)
    options.max_tokens =
        static_cast<int>(max_tokens_in_context(options_.ctx, static_cast<int64_t>(prompt.size()), options.max_tokens));
  auto channel = std::make_shared<RequestChannel>(n, static_cast<int64_t>(prompt.size()));
  {
    std::lock_guard lock(mu_);
    // Free slots take requests at the scheduler's next step: they do not count against the queue.
    const int64_t free_slots = options_.n_slots - active_slots_.load();
    if (stopping_ || queued_requests_.load() >= options_.max_queue + std::max<int64_t>(0, free_slots)) return nullptr;
    waiting_.push_back(Waiting{channel, std::move(prompt), std::move(options), n, 0});
    queued_requests_.fetch_add(1);
  }
  cv_.notify_one();
  return channel;
}

void BatchScheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BatchScheduler::run() {
  if (options_.threads > 0) omp_set_num_threads(options_.threads);  // this thread's own OpenMP setting
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !waiting_.empty() || active_slots_.load() > 0; });
      if (stopping_) break;
    }
    step();
  }
  fail_all("the server is shutting down");
}

// Sequence::accept for every chunk whose sequence samples after this step (a decoding slot, or a
// prefill that completes its prompt and generates), in parallel over the chunks: each sequence
// reads only its own logits row and owns its sampler, so the results do not depend on the threads.
void BatchScheduler::sample_all(size_t vocab) {
  const auto n = static_cast<int64_t>(chunks_.size());
  steps_.resize(chunks_.size());
  for (auto& v : steps_) v.clear();
  verdicts_.assign(chunks_.size(), AcceptResult{});
  step_errors_.assign(chunks_.size(), std::string());
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
  for (int64_t c = 0; c < n; ++c) {
    const Active& a = *slots_[chunk_slot_[c]].active;
    const int64_t len = static_cast<int64_t>(chunks_[c].tokens.size());
    const bool samples =
        a.decoding || (a.prefilled + len >= static_cast<int64_t>(a.prompt.size()) && !a.prompt_only);
    if (!samples) continue;
    const size_t last_row = static_cast<size_t>(chunk_row_[c] + (chunks_[c].all_logits ? len - 1 : 0));
    try {
      if (a.decoding && a.verify.size() > 1) {  // the pending token and its drafts: one row each
        std::vector<float> p, residual;
        const std::span<const int32_t> drafts(a.verify.data() + 1, a.verify.size() - 1);
        std::vector<TokenStep>& out = steps_[c];
        verdicts_[c] = accept_drafts(
            *a.seq, std::span<float>(logits_.data() + chunk_row_[c] * vocab, a.verify.size() * vocab), drafts, a.q,
            [&](const TokenStep& t) {
              out.push_back(t);
              return !t.finished;
            },
            p, residual);
      } else {
        steps_[c].push_back(a.seq->accept(std::span<float>(logits_.data() + last_row * vocab, vocab)));
      }
    } catch (const std::exception& e) {
      step_errors_[c] = e.what();
    }
  }
}

void BatchScheduler::fail_all(const std::string& message) {
  for (size_t s = 0; s < slots_.size(); ++s)
    if (slots_[s].active) {
      std::shared_ptr<RequestChannel> channel = slots_[s].active->channel;
      finish_slot(static_cast<int>(s));
      channel->fail(message);
    }
  std::lock_guard lock(mu_);
  for (auto& w : waiting_) w.channel->fail(message);
  waiting_.clear();
  queued_requests_.store(0);
}

void BatchScheduler::finish_slot(int slot) {
  slots_[slot].active.reset();
  slots_[slot].last_used = ++clock_;
  active_slots_.fetch_sub(1);
}

// Puts the first waiting sequence into a free slot. False when nothing can be admitted now.
bool BatchScheduler::admit_one() {
  std::unique_lock lock(mu_);
  if (waiting_.empty()) return false;
  Waiting& w = waiting_.front();
  if (w.channel->cancelled()) {  // the client left while waiting
    w.channel->fail("cancelled");
    waiting_.pop_front();
    queued_requests_.fetch_sub(1);
    return true;
  }
  const std::vector<int32_t>& prompt = w.prompt;
  const size_t limit = prompt.size() - 1;  // one prompt token is always forwarded, for its logits
  int target = -1;
  size_t target_len = 0;
  for (int s = 0; s < static_cast<int>(slots_.size()); ++s) {
    if (slots_[s].active) continue;
    size_t l = std::min(common_prefix(slots_[s].cached, prompt), limit);
    if (target < 0 || l > target_len || (l == target_len && slots_[s].last_used < slots_[target].last_used))
      target = s, target_len = l;
  }
  if (target < 0) return false;
  int source = -1;
  size_t source_len = target_len;
  for (int s = 0; s < static_cast<int>(slots_.size()); ++s) {
    if (s == target) continue;
    size_t l = std::min(common_prefix(slots_[s].cached, prompt), limit);
    if (l > source_len) source = s, source_len = l;
    // A prompt sharing a long prefix is being prefilled right now: wait and copy it afterwards.
    const Active* a = slots_[s].active.get();
    if (a && !a->decoding) {
      size_t pending = std::min(common_prefix(a->prompt, prompt), limit);
      if (pending > std::max(source_len, target_len) + kWaitForPrefixTokens) return false;
    }
  }
  auto active = std::make_unique<Active>();
  active->channel = w.channel;
  active->index = w.next;
  active->prompt = prompt;
  GenerationOptions options = w.options;
  options.sampling.seed += static_cast<uint64_t>(w.next);
  active->score_prompt = options.prompt_logprobs && w.next == 0;
  active->prompt_only = options.max_tokens == 0;
  if (active->prompt_only) options.max_tokens = 1;  // the Sequence is never asked for a token
  if (active->score_prompt) source = -1, target_len = 0;  // every prompt position's logits are needed
  if (++w.next == w.n) {
    active->seq = std::make_unique<Sequence>(*tokenizer_, std::move(w.prompt), std::move(options));
    waiting_.pop_front();
    queued_requests_.fetch_sub(1);
  } else {
    active->seq = std::make_unique<Sequence>(*tokenizer_, w.prompt, std::move(options));
  }
  lock.unlock();

  Slot& slot = slots_[target];
  KvCache& cache = engine_->cache();
  size_t reuse = target_len;
  if (source >= 0) {
    cache.copy_prefix(source, target, static_cast<int64_t>(source_len));
    reuse = source_len;
  } else {
    cache.truncate(target, static_cast<int64_t>(target_len));
  }
  slot.cached.assign(active->prompt.begin(), active->prompt.begin() + static_cast<std::ptrdiff_t>(reuse));
  active->prefilled = static_cast<int64_t>(reuse);
  reused_tokens_.fetch_add(static_cast<int64_t>(reuse));
  if (model_drafter_) model_drafter_->start(target, active->seq->options().sampling);
  slot.active = std::move(active);
  slot.last_used = ++clock_;
  active_slots_.fetch_add(1);
  return true;
}

void BatchScheduler::step() {
  // Clients that left: free their slots now.
  for (size_t s = 0; s < slots_.size(); ++s)
    if (slots_[s].active && slots_[s].active->channel->cancelled()) {
      std::shared_ptr<RequestChannel> channel = slots_[s].active->channel;
      finish_slot(static_cast<int>(s));
      channel->fail("cancelled");
    }
  while (admit_one()) {
  }

  // One chunk per busy slot: its pending token (and drafts), or the next piece of its prompt.
  draft_asks_.clear();
  for (size_t s = 0; s < slots_.size(); ++s) {
    Active* a = slots_[s].active.get();
    if (!a || !a->decoding) continue;
    a->verify.assign(1, a->next_token);
    a->q.clear();
    if (!speculative()) continue;
    // Drafts that fit the context after the pending token and leave a token for the target's own.
    const int64_t room = std::min<int64_t>(options_.ctx - engine_->cache().length(static_cast<int>(s)) - 1,
                                           a->seq->options().max_tokens - a->seq->generated() - 1);
    if (a->k == 0) a->k = options_.draft_k;
    if (room <= 0) continue;
    const int k = static_cast<int>(std::min<int64_t>(a->k, room));
    if (ngram_) {
      ngram_->propose(a->seq->tokens(), k, proposal_, no_q_);
      a->verify.insert(a->verify.end(), proposal_.begin(), proposal_.end());
    } else {
      draft_asks_.push_back({static_cast<int>(s), a->seq->tokens(), k, &a->drafts, &a->q});
    }
  }
  if (!draft_asks_.empty()) {  // every slot's draft steps in the same draft-model passes
    try {
      model_drafter_->propose(draft_asks_);
    } catch (const std::exception&) {  // the draft is only a speed-up: this step decodes without it
      for (const DraftAsk& ask : draft_asks_) ask.out->clear(), ask.q->clear();
    }
    for (const DraftAsk& ask : draft_asks_) {
      Active* a = slots_[static_cast<size_t>(ask.slot)].active.get();
      a->verify.insert(a->verify.end(), a->drafts.begin(), a->drafts.end());
    }
  }
  chunks_.clear();
  chunk_slot_.clear();
  int64_t budget = options_.step_tokens;
  for (size_t s = 0; s < slots_.size(); ++s) {
    Active* a = slots_[s].active.get();
    if (!a || !a->decoding) continue;
    chunks_.push_back({static_cast<int>(s), a->verify, a->verify.size() > 1});
    chunk_slot_.push_back(static_cast<int>(s));
    budget -= static_cast<int64_t>(a->verify.size());
  }
  for (size_t s = 0; s < slots_.size(); ++s) {
    Active* a = slots_[s].active.get();
    if (!a || a->decoding) continue;
    int64_t remaining = static_cast<int64_t>(a->prompt.size()) - a->prefilled;
    int64_t take = std::min({remaining, options_.prefill_chunk, budget});
    if (take <= 0) {
      if (!chunks_.empty()) continue;
      take = std::min(remaining, options_.prefill_chunk);  // always make progress
    }
    chunks_.push_back({static_cast<int>(s), std::span<const int32_t>(a->prompt.data() + a->prefilled, take),
                       a->score_prompt});
    chunk_slot_.push_back(static_cast<int>(s));
    budget -= take;
  }
  if (chunks_.empty()) return;
  chunk_row_.clear();
  int64_t rows = 0;
  for (const Engine::Chunk& c : chunks_) {
    chunk_row_.push_back(rows);
    rows += c.all_logits ? static_cast<int64_t>(c.tokens.size()) : 1;
  }

  try {
    engine_->forward(chunks_, logits_);
  } catch (const std::exception& e) {
    // The slots of this batch hold K/V of unknown length now: drop them and fail their requests.
    for (int s : chunk_slot_) {
      std::shared_ptr<RequestChannel> channel = slots_[s].active->channel;
      finish_slot(s);
      channel->fail(std::string("inference failed: ") + e.what());
      slots_[s].cached.clear();
      engine_->cache().truncate(s, 0);
    }
    return;
  }

  const size_t vocab = static_cast<size_t>(engine_->config().vocab_size);
  sample_all(vocab);
  const auto now = std::chrono::steady_clock::now();
  for (size_t c = 0; c < chunks_.size(); ++c) {
    const int s = chunk_slot_[c];
    Slot& slot = slots_[s];
    Active& a = *slot.active;
    const bool was_decoding = a.decoding;  // a verification chunk (else a prompt chunk)
    slot.cached.insert(slot.cached.end(), chunks_[c].tokens.begin(), chunks_[c].tokens.end());
    const int64_t len = static_cast<int64_t>(chunks_[c].tokens.size());
    if (!a.decoding) {
      if (a.score_prompt) {
        const int top = std::max(0, a.seq->options().top_logprobs);
        a.prompt_lps.resize(a.prompt.size());
        for (int64_t k = 0; k < len; ++k) {
          const size_t next = static_cast<size_t>(a.prefilled + k + 1);
          if (next >= a.prompt.size()) break;
          const float* row = logits_.data() + static_cast<size_t>(chunk_row_[c] + k) * vocab;
          a.prompt_lps[next] = token_logprob(std::span<const float>(row, vocab), a.prompt[next], top);
        }
      }
      a.prefilled += len;
      if (a.prefilled < static_cast<int64_t>(a.prompt.size())) continue;  // more prompt to go
      a.decoding = true;
      if (a.score_prompt) a.channel->set_prompt_logprobs(std::move(a.prompt_lps));
      if (a.prompt_only) {
        std::shared_ptr<RequestChannel> channel = a.channel;
        const int index = a.index;
        finish_slot(s);
        TokenStep end;
        end.finished = true;
        end.finish_reason = "length";
        channel->push(SeqEvent{index, std::move(end), now});
        continue;
      }
    }
    if (!step_errors_[c].empty()) {  // e.g. a sampled id the tokenizer cannot decode
      std::shared_ptr<RequestChannel> channel = a.channel;
      finish_slot(s);
      channel->fail("decoding failed: " + step_errors_[c]);
      continue;
    }
    if (was_decoding && len > 1) {  // speculative: keep the pending token and the accepted drafts
      const AcceptResult& v = verdicts_[c];
      const int64_t keep = engine_->cache().length(s) - len + 1 + v.accepted;
      engine_->cache().truncate(s, keep);
      slot.cached.resize(static_cast<size_t>(keep));
      drafted_.fetch_add(v.checked, std::memory_order_relaxed);
      accepted_.fetch_add(v.accepted, std::memory_order_relaxed);
      const int drafts = static_cast<int>(len - 1);
      if (options_.adaptive_k && v.accepted == drafts && drafts == a.k) a.k = std::min(a.k + 1, options_.draft_k);
      else if (options_.adaptive_k && 2 * v.accepted < drafts) a.k = std::max(a.k - 1, 1);
    }
    if (was_decoding) {
      decode_passes_.fetch_add(1, std::memory_order_relaxed);
      decoded_.fetch_add(static_cast<int64_t>(steps_[c].size()), std::memory_order_relaxed);
    }
    std::shared_ptr<RequestChannel> channel = a.channel;
    const int index = a.index;
    for (TokenStep& t : steps_[c]) {
      // The slot is free before the consumer hears of the end (active_slots() is exact then).
      const bool finished = t.finished;
      if (!finished) a.next_token = t.id;
      if (finished) finish_slot(s);
      channel->push(SeqEvent{index, std::move(t), now});
      if (finished) break;
    }
  }
}

}  // namespace baimo
