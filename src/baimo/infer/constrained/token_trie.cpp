#include "baimo/infer/constrained/token_trie.h"

#include "baimo/util/hash.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>

namespace baimo::constrained {
namespace {

using Entry = std::pair<std::string_view, int32_t>;

// Fills nodes[at] from the sorted entries [lo, hi) that share their first `depth` bytes.
void build(TokenTrie& t, const std::vector<Entry>& e, size_t lo, size_t hi, size_t depth, uint32_t at) {
  size_t i = lo;
  t.nodes[at].id_begin = static_cast<uint32_t>(t.ids.size());
  for (; i < hi && e[i].first.size() == depth; ++i) t.ids.push_back(e[i].second);
  t.nodes[at].id_end = static_cast<uint32_t>(t.ids.size());
  t.max_depth = std::max(t.max_depth, depth);
  // Group the rest by the byte at `depth`.
  std::vector<std::pair<size_t, size_t>> groups;
  for (size_t j = i; j < hi;) {
    size_t k = j;
    while (k < hi && e[k].first[depth] == e[j].first[depth]) ++k;
    groups.emplace_back(j, k);
    j = k;
  }
  const uint32_t first = static_cast<uint32_t>(t.nodes.size());
  t.nodes[at].child_begin = first;
  t.nodes[at].child_end = first + static_cast<uint32_t>(groups.size());
  t.nodes.resize(t.nodes.size() + groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    t.nodes[first + g].byte = static_cast<uint8_t>(e[groups[g].first].first[depth]);
    build(t, e, groups[g].first, groups[g].second, depth + 1, first + static_cast<uint32_t>(g));
  }
}

}  // namespace

TokenTrie::TokenTrie(const Tokenizer& tok) : vocab_size(tok.vocab_size()) {
  std::vector<Entry> entries;
  entries.reserve(vocab_size);
  for (size_t id = 0; id < vocab_size; ++id) {
    const auto i = static_cast<uint32_t>(id);
    if (tok.is_added(i)) continue;
    std::string_view b = tok.token_bytes(i);
    if (!b.empty()) entries.emplace_back(b, static_cast<int32_t>(id));
  }
  std::sort(entries.begin(), entries.end());
  nodes.resize(1);
  build(*this, entries, 0, entries.size(), 0, 0);
}

std::shared_ptr<const TokenTrie> TokenTrie::for_tokenizer(const Tokenizer& tok) {
  static std::mutex mu;
  static std::map<std::pair<uint64_t, size_t>, std::weak_ptr<const TokenTrie>> cache;
  // The vocabulary's fingerprint (one pass over the token bytes: small next to building a trie).
  uint64_t h = 0;
  for (size_t id = 0; id < tok.vocab_size(); ++id) {
    const auto i = static_cast<uint32_t>(id);
    h = splitmix64(h ^ fnv1a(tok.token_bytes(i)) ^ (tok.is_added(i) ? 1u : 0u));
  }
  std::lock_guard lock(mu);
  auto& slot = cache[{h, tok.vocab_size()}];
  if (auto t = slot.lock()) return t;
  auto t = std::make_shared<const TokenTrie>(tok);
  slot = t;
  return t;
}

}  // namespace baimo::constrained
