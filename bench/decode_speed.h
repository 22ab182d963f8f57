// Shared by the benchmarks that time the inference engine's decode and prefill (bench/generate,
// bench/sparse24): one repetition on a fresh Engine of 8 slots after a 16-token prompt in every slot —
// decode batch 1 (slot 0, one token per step), decode batch 8 (every slot, one token each per step)
// and prefill (one chunk of prefill_tokens on a cleared slot) — appended as tokens/s; and the weight
// bytes a decode step reads (every layer matrix and the LM head). Header-only, like memory_bandwidth.h.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "baimo/infer/engine.h"
#include "memory_bandwidth.h"

namespace baimo::bench {

struct DecodeSpeed {
  std::vector<double> b1, b8, prefill;  // tokens/s, one entry per repetition
  void clear() { b1.clear(), b8.clear(), prefill.clear(); }
};

inline int32_t bench_token(int64_t i, int64_t vocab) { return static_cast<int32_t>((i * 7919 + 13) % vocab); }

inline double weight_bytes_per_token(const ModelWeights& w) {
  double b = static_cast<double>(w.lm_head.bytes());
  for (const LayerWeights& l : w.layers)
    for (const WeightMatrix* m : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) b += static_cast<double>(m->bytes());
  return b;
}

inline void time_decode(const std::shared_ptr<const ModelWeights>& w, int decode_steps, int prefill_tokens,
                        DecodeSpeed& out) {
  constexpr int kPrompt = 16, kSlots = 8;
  const int64_t vocab = w->config.vocab_size;
  Engine e(w, kSlots, kPrompt + decode_steps + prefill_tokens + 8);
  std::vector<float> logits;
  std::vector<int32_t> prompt(kPrompt);
  for (int i = 0; i < kPrompt; ++i) prompt[i] = bench_token(i, vocab);
  // Prompts of all slots in one pass (not timed).
  std::vector<Engine::Chunk> chunks;
  for (int s = 0; s < kSlots; ++s) chunks.push_back({s, prompt});
  e.forward(chunks, logits);
  std::vector<int32_t> one(1);
  auto t0 = Clock::now();
  for (int i = 0; i < decode_steps; ++i) {
    one[0] = bench_token(1000 + i, vocab);
    Engine::Chunk ch{0, one};
    e.forward({&ch, 1}, logits);
  }
  out.b1.push_back(decode_steps / seconds_since(t0));
  // Slot 0 is ahead by decode_steps tokens; the others start after the prompt.
  std::vector<int32_t> toks(kSlots);
  t0 = Clock::now();
  for (int i = 0; i < decode_steps; ++i) {
    chunks.clear();
    for (int s = 0; s < kSlots; ++s) {
      toks[s] = bench_token(2000 + i * kSlots + s, vocab);
      chunks.push_back({s, std::span<const int32_t>(&toks[s], 1)});
    }
    e.forward(chunks, logits);
  }
  out.b8.push_back(static_cast<double>(decode_steps) * kSlots / seconds_since(t0));
  std::vector<int32_t> long_prompt(prefill_tokens);
  for (int i = 0; i < prefill_tokens; ++i) long_prompt[i] = bench_token(5000 + i, vocab);
  e.cache().truncate(1, 0);
  Engine::Chunk pc{1, long_prompt};
  t0 = Clock::now();
  e.forward({&pc, 1}, logits);
  out.prefill.push_back(prefill_tokens / seconds_since(t0));
}

}  // namespace baimo::bench
