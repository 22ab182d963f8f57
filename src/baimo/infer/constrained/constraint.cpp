#include "baimo/infer/constrained/constraint.h"

#include <limits>

#include "baimo/infer/constrained/json_schema.h"

namespace baimo::constrained {

Constraint::Constraint(Grammar g, const Tokenizer& tok, std::string description)
    : grammar_(std::move(g)), trie_(TokenTrie::for_tokenizer(tok)), description_(std::move(description)) {}

std::shared_ptr<const Constraint> Constraint::from_grammar(std::string_view gbnf, const Tokenizer& tok, const std::string& name) {
  return std::make_shared<const Constraint>(parse_grammar(gbnf, name), tok, name);
}

std::shared_ptr<const Constraint> Constraint::from_json_schema(std::string_view schema_json, const Tokenizer& tok) {
  return std::make_shared<const Constraint>(parse_grammar(json_schema_to_gbnf(schema_json), "json_schema"), tok, "json_schema");
}

std::shared_ptr<const Constraint> Constraint::json_object(const Tokenizer& tok) {
  return std::make_shared<const Constraint>(parse_grammar(json_object_gbnf(), "json_object"), tok, "json_object");
}

int32_t Constraint::intern(const RecognizerState& s) const {
  if (auto it = dfa_.ids.find(s); it != dfa_.ids.end()) return it->second;
  const auto id = static_cast<int32_t>(dfa_.states.size());
  dfa_.states.push_back(s);
  dfa_.next.emplace_back();
  dfa_.next.back().fill(-2);
  dfa_.ids.emplace(s, id);
  return id;
}

int32_t Constraint::next(int32_t id, uint8_t byte) const {
  int32_t n = dfa_.next[static_cast<size_t>(id)][byte];
  if (n != -2) return n;
  RecognizerState out;
  n = step_byte(grammar_, dfa_.states[static_cast<size_t>(id)], byte, out) ? intern(out) : -1;
  dfa_.next[static_cast<size_t>(id)][byte] = n;
  return n;
}

std::vector<uint64_t> Constraint::compute_mask(const RecognizerState& state) const {
  const TokenTrie& t = *trie_;
  std::vector<uint64_t> bits((t.vocab_size + 63) / 64, 0);
  std::lock_guard lock(dfa_mu_);
  if (dfa_.states.size() > kMaxDfaStates) dfa_ = Dfa{};
  // Depth-first over the trie; ids[d] is the DFA state after the first d bytes of the path.
  std::vector<int32_t> ids(t.max_depth + 2);
  ids[0] = intern(state);
  struct Frame {
    uint32_t node, next_child;
  };
  std::vector<Frame> stack;
  stack.push_back({0, t.nodes[0].child_begin});
  while (!stack.empty()) {
    Frame& f = stack.back();
    const TokenTrie::Node& n = t.nodes[f.node];
    if (f.next_child >= n.child_end) {
      stack.pop_back();
      continue;
    }
    const uint32_t c = f.next_child++;
    const size_t d = stack.size();
    const int32_t to = next(ids[d - 1], t.nodes[c].byte);
    if (to < 0) continue;
    ids[d] = to;
    const TokenTrie::Node& cn = t.nodes[c];
    for (uint32_t i = cn.id_begin; i < cn.id_end; ++i) {
      const auto id = static_cast<size_t>(t.ids[i]);
      bits[id / 64] |= uint64_t{1} << (id % 64);
    }
    if (cn.child_begin < cn.child_end) stack.push_back({c, cn.child_begin});
  }
  return bits;
}

std::shared_ptr<const std::vector<uint64_t>> Constraint::mask(const RecognizerState& state) const {
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(state); it != cache_.end()) return it->second;
  }
  auto m = std::make_shared<const std::vector<uint64_t>>(compute_mask(state));
  std::lock_guard lock(mu_);
  if (cache_.size() >= kMaxCachedMasks) cache_.clear();
  cache_.emplace(state, m);
  return m;
}

size_t Constraint::cached_masks() const {
  std::lock_guard lock(mu_);
  return cache_.size();
}

ConstraintState::ConstraintState(std::shared_ptr<const Constraint> c) : c_(std::move(c)), state_(start_state(c_->grammar())) {}

size_t ConstraintState::apply(std::span<float> logits, std::span<const int32_t> end_ids) const {
  const auto m = c_->mask(state_);
  const std::vector<uint64_t>& bits = *m;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const size_t V = logits.size();
  // End ids keep their logits only when the text so far is complete.
  const bool ends = accepting();
  std::vector<std::pair<int32_t, float>> keep;
  if (ends)
    for (int32_t id : end_ids)
      if (id >= 0 && static_cast<size_t>(id) < V) keep.emplace_back(id, logits[static_cast<size_t>(id)]);
  size_t allowed = 0;
  for (size_t w = 0; w * 64 < V; ++w) {
    const uint64_t word = w < bits.size() ? bits[w] : 0;
    const size_t end = std::min(V, w * 64 + 64);
    if (word == ~uint64_t{0} && end == w * 64 + 64) {
      allowed += 64;
      continue;
    }
    for (size_t i = w * 64; i < end; ++i) {
      if (word >> (i % 64) & 1) ++allowed;
      else logits[i] = kNegInf;
    }
  }
  if (!ends)
    for (int32_t id : end_ids)
      if (id >= 0 && static_cast<size_t>(id) < V && logits[static_cast<size_t>(id)] != kNegInf) {
        logits[static_cast<size_t>(id)] = kNegInf;
        --allowed;
      }
  for (auto [id, l] : keep) {
    if (logits[static_cast<size_t>(id)] == kNegInf) ++allowed;
    logits[static_cast<size_t>(id)] = l;
  }
  return allowed;
}

bool ConstraintState::advance(std::string_view token_bytes) { return step_bytes(c_->grammar(), state_, token_bytes); }

}  // namespace baimo::constrained
