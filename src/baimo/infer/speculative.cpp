#include "baimo/infer/speculative.h"

#include <algorithm>
#include <cmath>

#include "baimo/util/error.h"

namespace baimo {

void check_draft_k(int k) {
  if (k < 1 || k > kMaxDraftTokens)
    fail("--draft-k must be between 1 and {} tokens per step, got {}", kMaxDraftTokens, k);
}

void check_draft_compatible(const ModelConfig& target, const Tokenizer& target_tok, const std::string& target_name,
                            const ModelConfig& draft, const Tokenizer& draft_tok, const std::string& draft_name) {
  if (draft.vocab_size != target.vocab_size)
    fail("draft model {} has a vocabulary of {} tokens, the target {} has {}: a draft must share the target's "
         "tokenizer",
         draft_name, draft.vocab_size, target_name, target.vocab_size);
  if (draft_tok.vocab_size() != target_tok.vocab_size())
    fail("draft model {}'s tokenizer has {} tokens, the target {}'s has {}: a draft must share the target's "
         "tokenizer",
         draft_name, draft_tok.vocab_size(), target_name, target_tok.vocab_size());
  for (uint32_t id = 0; id < target_tok.vocab_size(); ++id) {
    if (draft_tok.token_bytes(id) != target_tok.token_bytes(id) || draft_tok.is_special(id) != target_tok.is_special(id))
      fail("draft model {}'s tokenizer differs from the target {}'s at token id {} ({} vs {}): a draft must share "
           "the target's tokenizer",
           draft_name, target_name, id, target_tok.id_to_token(id), draft_tok.id_to_token(id));
  }
}

DraftVerdict verify_draft(std::span<const float> p, int32_t x, const float* q, Sampler& rng,
                          std::vector<float>& residual) {
  const size_t V = p.size();
  const double px = p[static_cast<size_t>(x)], qx = q ? q[x] : 1.0;
  // Accept with probability min(1, p(x) / q(x)): u < p/q  <=>  u q < p (q(x) > 0: x was drawn from q).
  if (rng.uniform() * qx < px) return {x, true};
  residual.resize(V);
  double mass = 0;
  for (size_t i = 0; i < V; ++i) {
    const float r = std::max(0.0f, p[i] - (q ? q[i] : (i == static_cast<size_t>(x) ? 1.0f : 0.0f)));
    residual[i] = r;
    mass += r;
  }
  // Rejection implies p(x) < q(x), so p - q has positive mass elsewhere; float rounding can still
  // leave none (p and q equal up to rounding): then p itself.
  if (!(mass > 0)) return {rng.draw(p), false};
  return {rng.draw(residual), false};
}

AcceptResult accept_drafts(Sequence& seq, std::span<float> logits, std::span<const int32_t> drafts,
                           std::span<const float> q, const std::function<bool(const TokenStep&)>& take,
                           std::vector<float>& p, std::vector<float>& residual) {
  const size_t n = drafts.size();
  if (logits.size() % (n + 1) != 0) fail("speculative: {} logits do not form {} rows", logits.size(), n + 1);
  const size_t V = logits.size() / (n + 1);
  if (!q.empty() && q.size() != n * V) fail("speculative: draft distributions hold {} floats, expected {}", q.size(), n * V);
  const bool greedy = seq.options().sampling.temperature == 0;
  AcceptResult r;
  for (size_t i = 0; i <= n; ++i) {
    std::span<float> row = logits.subspan(i * V, V);
    if (i == n) {  // every draft accepted: the target's own next token
      r.stop = !take(seq.accept(row));
      return r;
    }
    const int32_t x = drafts[i];
    TokenStep step;
    bool ok;
    if (greedy) {
      step = seq.accept(row);
      ok = step.id == x;
    } else {
      seq.sampling_distribution(row, p);
      const DraftVerdict v = verify_draft(p, x, q.empty() ? nullptr : q.data() + i * V, seq.sampler(), residual);
      step = seq.accept_token(row, v.id, std::log(p[static_cast<size_t>(v.id)]));
      ok = v.accepted;
    }
    ++r.checked;
    if (ok) ++r.accepted;
    if (!take(step)) {
      r.stop = true;
      return r;
    }
    if (!ok) return r;
  }
  return r;
}

}  // namespace baimo
