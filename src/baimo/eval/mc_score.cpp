#include "baimo/eval/mc_score.h"

#include <algorithm>
#include <cmath>

#include "baimo/infer/inference_model.h"
#include "baimo/util/error.h"

namespace baimo::eval {
namespace {

std::vector<int32_t> encode_text(const Tokenizer& tok, std::string_view s) {
  std::vector<int32_t> out;
  for (uint32_t id : tok.encode(s, Specials::AsText)) out.push_back(static_cast<int32_t>(id));
  return out;
}

int argmax(const std::vector<double>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());  // first maximum
}

// log softmax(row)[id] in float64.
double log_prob(const float* row, int64_t V, int32_t id) {
  float mx = row[0];
  for (int64_t v = 1; v < V; ++v) mx = std::max(mx, row[v]);
  double z = 0;
  for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v]) - mx);
  return static_cast<double>(row[id]) - mx - std::log(z);
}

}  // namespace

ContextSplit split_context(const std::string& context) {
  const size_t keep = context.find_last_not_of(" \t\r\n");
  ContextSplit r;
  r.context = keep == std::string::npos ? "" : context.substr(0, keep + 1);
  r.moved = context.substr(r.context.size());
  return r;
}

int64_t utf8_chars(std::string_view s) {
  int64_t chars = 0;
  for (char ch : s) chars += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;  // not a continuation byte
  return chars;
}

McResult mc_result(std::vector<double> loglik, std::span<const int64_t> bytes, std::span<const int64_t> chars) {
  McResult res;
  std::vector<double> norm, norm_chars;
  for (size_t k = 0; k < loglik.size(); ++k) {
    norm.push_back(loglik[k] / static_cast<double>(std::max<int64_t>(1, bytes[k])));
    const int64_t c = k < chars.size() ? chars[k] : bytes[k];
    norm_chars.push_back(loglik[k] / static_cast<double>(std::max<int64_t>(1, c)));
  }
  res.loglik = std::move(loglik);
  res.pred = argmax(res.loglik);
  res.pred_norm = argmax(norm);
  res.pred_norm_chars = argmax(norm_chars);
  return res;
}

McRequest encode_mc(const Tokenizer& tok, const std::string& context, std::span<const std::string> choices) {
  McRequest r;
  const ContextSplit split = split_context(context);
  const std::string& ctx = split.context;
  const std::vector<int32_t> ctx_ids = encode_text(tok, ctx);
  r.context = ctx_ids;
  prepend_bos_once(tok, r.context);
  if (r.context.empty()) {
    if (!tok.eos_id()) fail("an empty multiple-choice context needs a BOS or EOS token; the tokenizer has neither");
    r.context.push_back(static_cast<int32_t>(*tok.eos_id()));
  }
  for (const std::string& c : choices) {
    const std::string cont = split.moved + c;
    std::vector<int32_t> whole = encode_text(tok, ctx + cont);
    if (whole.size() <= ctx_ids.size()) fail("choice '{}' encodes to no token after its context", c);
    r.choices.emplace_back(whole.begin() + static_cast<std::ptrdiff_t>(ctx_ids.size()), whole.end());
    r.choice_bytes.push_back(static_cast<int64_t>(cont.size()));
    r.choice_chars.push_back(utf8_chars(cont));
  }
  return r;
}

std::vector<McResult> score_mc(Engine& engine, std::span<const McRequest> requests,
                               const std::function<void(int64_t)>& progress) {
  const int slots = engine.n_slots();
  const int64_t V = engine.config().vocab_size, cap = engine.ctx();
  std::vector<McResult> out(requests.size());
  std::vector<float> logits;
  std::vector<Engine::Chunk> chunks;
  std::vector<std::vector<int32_t>> bufs;  // chunk token storage, alive during forward
  std::vector<std::vector<int32_t>> ctx_of; // the (maybe truncated) context per example of the group
  size_t i = 0;
  while (i < requests.size()) {
    // Group [i, j): their choices fit the slots.
    size_t j = i;
    int used = 0;
    while (j < requests.size() && used + static_cast<int>(requests[j].choices.size()) <= slots) used += static_cast<int>(requests[j++].choices.size());
    if (j == i) fail("a question has {} choices but the engine has {} slots", requests[i].choices.size(), slots);
    // 1. Prefill each context's first Tc-1 tokens into the example's first slot.
    chunks.clear();
    bufs.assign(j - i, {});
    ctx_of.assign(j - i, {});
    int slot = 0;
    std::vector<int> first_slot(j - i);
    for (size_t e = i; e < j; ++e) {
      const McRequest& r = requests[e];
      int64_t longest = 0;
      for (auto& c : r.choices) longest = std::max<int64_t>(longest, static_cast<int64_t>(c.size()));
      if (longest > cap) fail("a choice of {} tokens does not fit the context of {} tokens", longest, cap);
      // Context + continuation[:-1] must fit: keep the last cap + 1 - longest context tokens.
      const int64_t keep = std::min<int64_t>(static_cast<int64_t>(r.context.size()), cap + 1 - longest);
      auto& cx = ctx_of[e - i];
      cx.assign(r.context.end() - keep, r.context.end());
      first_slot[e - i] = slot;
      for (size_t k = 0; k < r.choices.size(); ++k) engine.cache().truncate(slot + static_cast<int>(k), 0);
      if (cx.size() > 1) chunks.push_back({slot, std::span<const int32_t>(cx.data(), cx.size() - 1), false});
      slot += static_cast<int>(r.choices.size());
    }
    if (!chunks.empty()) engine.forward(chunks, logits);
    // 2. Share the prefix with the example's other slots.
    for (size_t e = i; e < j; ++e) {
      const int s0 = first_slot[e - i];
      const int64_t n = static_cast<int64_t>(ctx_of[e - i].size()) - 1;
      for (size_t k = 1; k < requests[e].choices.size(); ++k) engine.cache().copy_prefix(s0, s0 + static_cast<int>(k), n);
    }
    // 3. Every choice: [last context token] + continuation[:-1], all logits.
    chunks.clear();
    bufs.clear();
    bufs.reserve(static_cast<size_t>(used));
    for (size_t e = i; e < j; ++e) {
      const McRequest& r = requests[e];
      for (size_t k = 0; k < r.choices.size(); ++k) {
        std::vector<int32_t> b{ctx_of[e - i].back()};
        b.insert(b.end(), r.choices[k].begin(), r.choices[k].end() - 1);
        bufs.push_back(std::move(b));
        chunks.push_back({first_slot[e - i] + static_cast<int>(k), bufs.back(), true});
      }
    }
    engine.forward(chunks, logits);
    int64_t row = 0;
    for (size_t e = i; e < j; ++e) {
      const McRequest& r = requests[e];
      std::vector<double> loglik;
      for (size_t k = 0; k < r.choices.size(); ++k) {
        double s = 0;
        for (int32_t id : r.choices[k]) s += log_prob(logits.data() + (row++) * V, V, id);
        loglik.push_back(s);
      }
      out[e] = mc_result(std::move(loglik), r.choice_bytes, r.choice_chars);
    }
    i = j;
    if (progress) progress(static_cast<int64_t>(i));
  }
  return out;
}

}  // namespace baimo::eval
