// Tokenizer::Impl::finalize (invariant checks, lookup tables) and the hash tables behind it.
#include <algorithm>
#include <atomic>

#include "baimo/tokenizer/tokenizer_impl.h"
#include "baimo/util/error.h"

namespace baimo {

void TokenIndex::build(const std::vector<std::string>& tokens, const std::vector<uint8_t>& flags, uint8_t want) {
  tokens_ = &tokens;
  size_t n = 0;
  for (uint8_t f : flags) n += (f == want);
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  slots_.assign(cap, kEmptySlot);
  mask_ = cap - 1;
  for (uint32_t id = 0; id < tokens.size(); ++id) {
    if (flags[id] != want) continue;
    uint64_t h = hash_bytes_fast(tokens[id]);
    size_t i = h & mask_;
    while (slots_[i] != kEmptySlot) i = (i + 1) & mask_;
    slots_[i] = ((h >> 32) << 32) | id;
  }
}

void PairTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  std::vector<Entry> old;
  old.swap(slots_);
  slots_.assign(cap, Entry{kEmpty, 0, 0});
  mask_ = cap - 1;
  size_ = 0;
  for (const Entry& e : old)
    if (e.key != kEmpty) insert(uint32_t(e.key >> 32), uint32_t(e.key), e.rank, e.merged);
}

bool PairTable::insert(uint32_t left, uint32_t right, uint32_t rank, uint32_t merged) {
  if ((size_ + 1) * 2 > slots_.size()) reserve(std::max<size_t>(16, size_ * 2 + 2));
  uint64_t key = (uint64_t(left) << 32) | right;
  size_t i = mix(key) & mask_;
  while (true) {
    Entry& e = slots_[i];
    if (e.key == key) {
      if (rank < e.rank) {
        e.rank = rank;
        e.merged = merged;
      }
      return false;
    }
    if (e.key == kEmpty) {
      e = Entry{key, rank, merged};
      ++size_;
      return true;
    }
    i = (i + 1) & mask_;
  }
}

void Tokenizer::Impl::finalize(bool pairs_from_ranks) {
  static std::atomic<uint64_t> next_instance{1};
  instance_id = next_instance.fetch_add(1);
  constexpr uint32_t kMaxId = 1u << 26;
  flags.resize(tokens.size(), kNormal);
  const uint64_t limit = id_limit(tokens.size() + added.size());
  for (const AddedToken& a : added) {
    if (a.id >= kMaxId || a.id >= limit) fail("{}: added token {:?} has id {} (too large)", name, a.content, a.id);
    if (a.content.empty()) fail("{}: added token with id {} is empty", name, a.id);
    if (a.id >= tokens.size()) {
      tokens.resize(a.id + 1);
      flags.resize(a.id + 1, kUnused);
    }
    if (flags[a.id] & kAdded) fail("{}: two added tokens have id {}", name, a.id);
    if (flags[a.id] == kNormal && tokens[a.id] != a.content)
      fail("{}: added token {:?} has id {} which the vocabulary gives to another token", name, a.content, a.id);
    tokens[a.id] = a.content;
    flags[a.id] = uint8_t(kAdded | (a.special ? kSpecialFlag : 0));
  }
  token_ids.build(tokens, flags, kNormal);
  // distinct normal tokens
  for (uint32_t id = 0; id < tokens.size(); ++id)
    if (flags[id] == kNormal) {
      if (tokens[id].empty()) fail("{}: token {} is empty", name, id);
      if (token_ids.find(tokens[id]) != id) fail("{}: token {} duplicates token {}", name, id, token_ids.find(tokens[id]));
    }
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    uint32_t id = token_ids.find(std::string_view(&c, 1));
    if (id == TokenIndex::kMissing) {
      // llama.cpp's byte_to_token: a vocabulary without this byte may hold it as an added token
      // spelled as the byte's GPT-2 character (deepseek-coder's GGUF: 0xC0 0xC1 0xF5..0xFF).
      const std::string spelled = byte_level::bytes_to_unicode(std::string_view(&c, 1));
      for (const AddedToken& a : added)
        if (a.content == spelled) id = a.id;
    }
    if (id == TokenIndex::kMissing)
      fail("{}: the vocabulary has no token for byte 0x{:02X} (byte-level BPE needs all 256)", name, b);
    byte_token[b] = id;
  }
  if (pairs_from_ranks) {
    pairs = PairTable();
    pairs.reserve(tokens.size() * 2);
    for (uint32_t id = 0; id < tokens.size(); ++id) {
      if (flags[id] != kNormal || tokens[id].size() < 2) continue;
      std::string_view t = tokens[id];
      for (size_t k = 1; k < t.size(); ++k) {
        uint32_t l = token_ids.find(t.substr(0, k));
        if (l == TokenIndex::kMissing) continue;
        uint32_t r = token_ids.find(t.substr(k));
        if (r == TokenIndex::kMissing) continue;
        pairs.insert(l, r, id, id);
      }
    }
  } else {
    pairs = PairTable();
    pairs.reserve(merge_list.size());
    std::string cat;
    for (size_t k = 0; k < merge_list.size(); ++k) {
      auto [l, r] = merge_list[k];
      if (l >= tokens.size() || r >= tokens.size() || flags[l] != kNormal || flags[r] != kNormal)
        fail("{}: merge {} refers to token ids {} {} that are not vocabulary tokens", name, k, l, r);
      cat.assign(tokens[l]);
      cat += tokens[r];
      uint32_t m = token_ids.find(cat);
      if (m == TokenIndex::kMissing)
        fail("{}: merge {} ({} + {}) produces a token that is not in the vocabulary", name, k, l, r);
      pairs.insert(l, r, static_cast<uint32_t>(k), m);
    }
  }
  has_plain_added = false;
  for (const AddedToken& a : added) has_plain_added |= !a.special;
  added_by_first_byte.assign(256, {});
  std::fill(std::begin(added_first_byte), std::end(added_first_byte), false);
  for (size_t i = 0; i < added.size(); ++i) {
    auto b = static_cast<unsigned char>(added[i].content[0]);
    added_by_first_byte[b].push_back(static_cast<uint32_t>(i));
    added_first_byte[b] = true;
  }
  for (auto& v : added_by_first_byte)
    std::stable_sort(v.begin(), v.end(),
                     [&](uint32_t a, uint32_t b) { return added[a].content.size() > added[b].content.size(); });
  if (bos && *bos >= tokens.size()) fail("{}: bos id {} is out of range", name, *bos);
  if (eos && *eos >= tokens.size()) fail("{}: eos id {} is out of range", name, *eos);
}

std::vector<std::pair<uint32_t, uint32_t>> Tokenizer::Impl::derive_merges() const {
  if (!merge_list.empty()) return merge_list;
  // tiktoken: token t (rank r) is made by BPE over its bytes with ranks < r; the last merge joins
  // two parts, and that pair is merge r.
  std::vector<std::pair<uint32_t, uint32_t>> out;
  std::vector<uint32_t> parts;
  for (uint32_t id = 0; id < tokens.size(); ++id) {
    if (flags[id] != kNormal || tokens[id].size() < 2) continue;
    parts.clear();
    for (unsigned char b : tokens[id]) parts.push_back(byte_token[b]);
    while (parts.size() > 2) {
      uint32_t best = 0xFFFFFFFFu;
      size_t at = 0;
      for (size_t i = 0; i + 1 < parts.size(); ++i) {
        const PairTable::Entry* e = pairs.find(parts[i], parts[i + 1]);
        if (e && e->rank < id && e->rank < best) {
          best = e->rank;
          at = i;
        }
      }
      if (best == 0xFFFFFFFFu) break;
      parts[at] = pairs.find(parts[at], parts[at + 1])->merged;
      parts.erase(parts.begin() + at + 1);
    }
    if (parts.size() != 2)
      fail("{}: token {} cannot be written as a merge of two lower-ranked tokens", name, id);
    out.emplace_back(parts[0], parts[1]);
  }
  return out;
}

}  // namespace baimo
