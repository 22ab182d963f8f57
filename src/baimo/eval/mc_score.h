// Multiple choice by log-likelihood (lm-evaluation-harness's loglikelihood requests), on the
// inference engine (infer/engine.h) — no forward pass of its own.
// encode_mc: context and each choice become token ids the way lm-eval encodes a pair: trailing
//   whitespace of the context moves to the front of the continuation; context_ids = encode(context),
//   whole = encode(context + continuation), continuation ids = whole[len(context_ids):] (text as
//   plain text, no special tokens). The BOS is prepended to the context for models that expect it
//   (infer/inference_model.h prepend_bos_once); an empty context without BOS becomes {eos} (as lm-eval
//   does). A continuation that encodes to no token is a baimo::Error.
// score_mc: for each request, loglik[j] = sum_i log softmax(logits at the position before
//   continuation token i)[token i], over the tokens of choice j, in float64 from the engine's f32
//   logits. Batched: examples are grouped so that their choices fit the engine's slots; the context
//   (all but its last token) is prefilled once into the example's first slot and copied to its other
//   slots (KvCache::copy_prefix), then every choice's [last context token, continuation[:-1]] runs as
//   one chunk with all logits in a single Engine::forward. A context too long for engine.ctx() loses
//   its first tokens (lm-eval's left truncation); a continuation longer than engine.ctx() is an
//   error. engine.n_slots() must be >= the choices of every request.
// Results: pred = argmax loglik (first on ties); pred_norm = argmax loglik / bytes, bytes = the
// choice's continuation text length in UTF-8 bytes, leading space included; pred_norm_chars the
// same divided by its length in characters (code points: lm-eval's acc_norm; for ASCII choices
// both agree, for Chinese a character is 3 bytes). mc_result computes them from the log-likelihoods
// and the lengths; split_context is encode_mc's split of a context (text, trailing whitespace).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/infer/engine.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo::eval {

struct McRequest {
  std::vector<int32_t> context;                  // (Tc) ids, BOS included
  std::vector<std::vector<int32_t>> choices;     // per choice (Tj) continuation ids
  std::vector<int64_t> choice_bytes;             // per choice, UTF-8 bytes of its continuation text
  std::vector<int64_t> choice_chars;             // per choice, its characters (code points)
};

struct McResult {
  std::vector<double> loglik;  // per choice
  int pred = 0, pred_norm = 0, pred_norm_chars = 0;
};

McRequest encode_mc(const Tokenizer& tok, const std::string& context, std::span<const std::string> choices);

struct ContextSplit {
  std::string context;  // without its trailing whitespace
  std::string moved;    // that whitespace, the start of every continuation
};
ContextSplit split_context(const std::string& context);
int64_t utf8_chars(std::string_view s);  // code points (bytes that are not continuation bytes)
McResult mc_result(std::vector<double> loglik, std::span<const int64_t> bytes, std::span<const int64_t> chars);

std::vector<McResult> score_mc(Engine& engine, std::span<const McRequest> requests,
                               const std::function<void(int64_t done)>& progress = {});

}  // namespace baimo::eval
