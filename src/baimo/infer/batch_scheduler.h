// BatchScheduler: continuous batching over an Engine's slots, on one thread that owns the Engine.
// Contract:
// - Each step: every decoding slot contributes its last sampled token, prefilling slots contribute
//   prompt chunks (at most `prefill_chunk` tokens each, `step_tokens` in all, so that decoding stays
//   smooth while long prompts come in), and one Engine::forward call runs them all. Waiting
//   sequences are admitted, first come first served, as soon as a slot is free.
// - Every slot has the full `ctx` positions; submit() caps max_tokens at ctx - prompt length
//   (the caller reports a context overflow before submitting).
// - Prefix reuse: a slot keeps the tokens whose K/V it holds after its sequence ends. A new
//   sequence takes the free slot sharing the longest prompt prefix (else the least recently used),
//   or copies a longer shared prefix from any other slot (KvCache::copy_prefix). A request's n
//   sequences (n > 1) share their prompt: the later ones wait for the first one's prefill and copy it.
// - GenerationOptions::prompt_logprobs: the request's first sequence prefills its whole prompt
//   (no prefix reuse) with every position's logits and hands the prompt tokens' log-probs to the
//   channel (infer/prompt_logprobs.h); with max_tokens 0 each sequence then ends at once with one
//   event (id -1, no text, finish_reason "length").
// - Sequence i of a request samples with seed + i. Greedy results do not depend on the batch.
//   The sequences of a step sample (Sequence::accept) in parallel on the scheduler's OpenMP threads.
// - Speculative decoding (speculative.h) by prompt lookup (draft_ngram > 0; ngram_draft.h) or by a
//   draft model (draft_model; model_draft.h: one draft Engine with a slot per slot, all drafting
//   slots' draft steps batched): a decoding slot's chunk is its pending token plus up to draft_k
//   tokens drafted for its sequence (adapted per slot as in generate.h unless !adaptive_k), verified
//   in the same batched step as every other slot's chunk; the slot takes the accepted drafts and one
//   more token (several events in one step) and its cache is cut back to them. Greedy results equal
//   plain decoding's; sampled ones keep the distribution (a draft model's q rows go to the rule).
//   drafted_tokens() / accepted_tokens() / decode_passes() / decoded_tokens() count them.
// - cancel() on a channel frees its slots at the next step; a full queue makes submit() return
//   nullptr (the caller answers 429). stop() fails every open request and joins the thread.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "baimo/infer/engine.h"
#include "baimo/infer/model_draft.h"
#include "baimo/infer/ngram_draft.h"
#include "baimo/infer/request_channel.h"
#include "baimo/infer/sequence.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

struct SchedulerOptions {
  int n_slots = 4;
  int64_t ctx = 2048;
  int max_queue = 64;          // requests that may wait while every slot is busy; more are refused
  int64_t prefill_chunk = 256; // prompt tokens of one slot per step
  int64_t step_tokens = 384;   // tokens of all chunks of one step (decode tokens count 1 each)
  int threads = 0;             // OpenMP threads of the scheduler thread (0: the process default)
  int draft_ngram = 0;         // > 0: speculative decoding, n-gram prompt lookup of that length
  std::shared_ptr<const ModelWeights> draft_model;  // or by this draft model (checked compatible by the caller)
  int draft_k = 8;             // most draft tokens per slot and step (1 .. kMaxDraftTokens)
  bool adaptive_k = true;      // fewer drafts while few are accepted
};

class BatchScheduler {
 public:
  BatchScheduler(std::shared_ptr<const ModelWeights> model, std::shared_ptr<const Tokenizer> tokenizer,
                 SchedulerOptions options);
  ~BatchScheduler();
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Queues n sequences continuing `prompt` (1 <= prompt.size() < ctx). Returns nullptr when
  // max_queue requests are already waiting, or after stop().
  std::shared_ptr<RequestChannel> submit(std::vector<int32_t> prompt, GenerationOptions options, int n = 1);

  void stop();
  int64_t queue_length() const { return queued_requests_.load(std::memory_order_relaxed); }
  int active_slots() const { return active_slots_.load(std::memory_order_relaxed); }
  int n_slots() const { return options_.n_slots; }
  int queue_capacity() const { return options_.max_queue; }
  int64_t ctx() const { return options_.ctx; }
  const ModelConfig& config() const { return model_->config; }
  // Prompt tokens whose K/V came from the cache instead of a forward pass (prefix reuse).
  int64_t reused_prompt_tokens() const { return reused_tokens_.load(std::memory_order_relaxed); }
  bool speculative() const { return ngram_ != nullptr || model_drafter_ != nullptr; }
  int64_t drafted_tokens() const { return drafted_.load(std::memory_order_relaxed); }
  int64_t accepted_tokens() const { return accepted_.load(std::memory_order_relaxed); }
  int64_t decode_passes() const { return decode_passes_.load(std::memory_order_relaxed); }  // slot-steps
  int64_t decoded_tokens() const { return decoded_.load(std::memory_order_relaxed); }

 private:
  struct Waiting {  // one request's sequences not yet in a slot
    std::shared_ptr<RequestChannel> channel;
    std::vector<int32_t> prompt;
    GenerationOptions options;
    int n = 1;
    int next = 0;  // index of the next sequence to admit
  };
  struct Active {  // the sequence decoding in a slot
    std::shared_ptr<RequestChannel> channel;
    int index = 0;
    std::unique_ptr<Sequence> seq;
    std::vector<int32_t> prompt;
    int64_t prefilled = 0;    // prompt tokens whose K/V are in the slot
    int32_t next_token = -1;  // sampled, fed at the next step
    bool decoding = false;
    bool score_prompt = false;  // prompt_logprobs, first sequence: all logits of the prefill
    bool prompt_only = false;   // max_tokens 0: ends when the prompt is in
    std::vector<PromptLogprob> prompt_lps;
    std::vector<int32_t> verify;  // this step's chunk while decoding: next_token, then the drafts
    std::vector<int32_t> drafts;  // a draft model's proposal and the rows it drew them from
    std::vector<float> q;
    int k = 0;                    // draft tokens to ask for next (adaptive)
  };
  struct Slot {
    std::unique_ptr<Active> active;  // null: free
    std::vector<int32_t> cached;     // tokens whose K/V the slot holds (== cache length)
    uint64_t last_used = 0;
  };
  void run();
  void step();
  bool admit_one();
  void finish_slot(int slot);
  void fail_all(const std::string& message);
  void sample_all(size_t vocab);  // steps_ / step_errors_ of this step's chunks

  std::shared_ptr<const ModelWeights> model_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  SchedulerOptions options_;
  std::unique_ptr<Engine> engine_;
  std::vector<Slot> slots_;
  uint64_t clock_ = 0;  // steps, for least-recently-used slot choice

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Waiting> waiting_;  // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  std::atomic<int64_t> queued_requests_{0};
  std::atomic<int> active_slots_{0};
  std::atomic<int64_t> reused_tokens_{0};
  std::unique_ptr<NgramDrafter> ngram_;
  std::unique_ptr<BatchModelDrafter> model_drafter_;
  std::atomic<int64_t> drafted_{0}, accepted_{0}, decode_passes_{0}, decoded_{0};
  std::thread thread_;

  // Step buffers, reused.
  std::vector<Engine::Chunk> chunks_;
  std::vector<int> chunk_slot_;
  std::vector<int64_t> chunk_row_;  // first logits row of each chunk
  std::vector<float> logits_;
  std::vector<std::vector<TokenStep>> steps_;  // per chunk: the sampled steps (when its sequence samples)
  std::vector<AcceptResult> verdicts_;         // per chunk: its drafts checked / accepted
  std::vector<int32_t> proposal_;
  std::vector<float> no_q_;  // n-gram drafts are point masses
  std::vector<DraftAsk> draft_asks_;
  std::vector<std::string> step_errors_;  // per chunk: why accept() failed, else empty
};

}  // namespace baimo
