// Tokenizer: encoding (added-token split, normalization, pre-tokenization, BPE with a per-thread
// piece cache), decoding, the streaming decoder and accessors.
// BPE of one piece: short pieces use an in-place array loop (fast for the common < 48 bytes);
// long ones a min-heap of (rank, position) over a linked list of parts with lazy invalidation,
// O(n log n), so a 262-byte unpunctuated Chinese clause costs no more than its length suggests.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <exception>

#include "baimo/tokenizer/tokenizer_impl.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

constexpr uint32_t kNoRank = 0xFFFFFFFFu;
constexpr size_t kSmallPiece = 24;
constexpr size_t kMaxCachedPiece = 256;

// Per-thread cache piece bytes -> ids for one tokenizer instance at a time. Starts small (cheap to
// reset when a thread switches tokenizers) and doubles up to kMaxSlots; when full it is cleared.
struct PieceCache {
  struct Slot {
    uint64_t hash;
    uint32_t key_off, key_len, ids_off, ids_len;  // key_len 0: empty
  };
  uint64_t owner = 0;
  std::vector<Slot> slots;
  std::string keys;
  std::vector<uint32_t> ids;
  size_t count = 0;
  static constexpr size_t kMinSlots = 1u << 10, kMaxSlots = 1u << 17;

  void reset(uint64_t new_owner) {
    owner = new_owner;
    slots.assign(kMinSlots, Slot{0, 0, 0, 0, 0});
    keys.clear();
    ids.clear();
    count = 0;
  }
  size_t mask() const { return slots.size() - 1; }
  const Slot* find(std::string_view piece, uint64_t h) const {
    size_t i = h & mask();
    while (true) {
      const Slot& s = slots[i];
      if (s.key_len == 0) return nullptr;
      if (s.hash == h && s.key_len == piece.size() && std::memcmp(keys.data() + s.key_off, piece.data(), piece.size()) == 0)
        return &s;
      i = (i + 1) & mask();
    }
  }
  void place(const Slot& e) {
    size_t i = e.hash & mask();
    while (slots[i].key_len != 0) i = (i + 1) & mask();
    slots[i] = e;
  }
  void insert(std::string_view piece, uint64_t h, const uint32_t* v, size_t n) {
    if (keys.size() > (16u << 20)) reset(owner);
    if ((count + 1) * 2 > slots.size()) {
      if (slots.size() >= kMaxSlots) {
        reset(owner);
      } else {
        std::vector<Slot> old(slots.size() * 2, Slot{0, 0, 0, 0, 0});
        old.swap(slots);
        for (const Slot& e : old)
          if (e.key_len) place(e);
      }
    }
    place(Slot{h, uint32_t(keys.size()), uint32_t(piece.size()), uint32_t(ids.size()), uint32_t(n)});
    keys.append(piece);
    ids.insert(ids.end(), v, v + n);
    ++count;
  }
};

PieceCache& cache_for(const Tokenizer::Impl& m) {
  thread_local PieceCache cache;
  if (cache.owner != m.instance_id) cache.reset(m.instance_id);
  return cache;
}

void bpe_small(const Tokenizer::Impl& m, std::string_view piece, std::vector<uint32_t>& out) {
  uint32_t ids[kSmallPiece], ranks[kSmallPiece], merged[kSmallPiece];
  size_t n = piece.size();
  for (size_t i = 0; i < n; ++i) ids[i] = m.byte_token[static_cast<unsigned char>(piece[i])];
  auto set_rank = [&](size_t i) {
    const PairTable::Entry* e = m.pairs.find(ids[i], ids[i + 1]);
    ranks[i] = e ? e->rank : kNoRank;
    merged[i] = e ? e->merged : 0;
  };
  for (size_t i = 0; i + 1 < n; ++i) set_rank(i);
  while (n > 1) {
    uint32_t best = kNoRank;
    size_t at = 0;
    for (size_t i = 0; i + 1 < n; ++i)
      if (ranks[i] < best) {
        best = ranks[i];
        at = i;
      }
    if (best == kNoRank) break;
    ids[at] = merged[at];
    for (size_t i = at + 1; i + 1 < n; ++i) {
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    if (at + 1 < n) set_rank(at);
    if (at > 0) set_rank(at - 1);
  }
  out.insert(out.end(), ids, ids + n);
}

void bpe_large(const Tokenizer::Impl& m, std::string_view piece, std::vector<uint32_t>& out) {
  struct Cand {
    uint32_t rank, pos, right, left_id, right_id, merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  thread_local std::vector<uint32_t> id, next, prev;
  thread_local std::vector<Cand> heap;  // min-heap by (rank, pos) via std::push_heap/pop_heap
  const uint32_t n = static_cast<uint32_t>(piece.size());
  constexpr uint32_t kEnd = 0xFFFFFFFFu;
  id.resize(n);
  next.resize(n);
  prev.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    id[i] = m.byte_token[static_cast<unsigned char>(piece[i])];
    next[i] = i + 1 < n ? i + 1 : kEnd;
    prev[i] = i > 0 ? i - 1 : kEnd;
  }
  heap.clear();
  const std::greater<Cand> cmp;
  auto push = [&](uint32_t p) {
    uint32_t r = next[p];
    if (r == kEnd) return;
    if (const PairTable::Entry* e = m.pairs.find(id[p], id[r])) {
      heap.push_back(Cand{e->rank, p, r, id[p], id[r], e->merged});
      std::push_heap(heap.begin(), heap.end(), cmp);
    }
  };
  for (uint32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), cmp);
    Cand c = heap.back();
    heap.pop_back();
    if (id[c.pos] != c.left_id || next[c.pos] != c.right || id[c.right] != c.right_id) continue;
    id[c.pos] = c.merged;
    id[c.right] = kEnd;  // dead
    uint32_t nn = next[c.right];
    next[c.pos] = nn;
    if (nn != kEnd) prev[nn] = c.pos;
    if (prev[c.pos] != kEnd) push(prev[c.pos]);
    push(c.pos);
  }
  for (uint32_t p = 0; p != kEnd; p = next[p]) out.push_back(id[p]);
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

}  // namespace

void Tokenizer::encode_piece(std::string_view piece, std::vector<uint32_t>& out) const {
  const Impl& m = *impl_;
  if (piece.empty()) return;
  if (piece.size() == 1) {
    out.push_back(m.byte_token[static_cast<unsigned char>(piece[0])]);
    return;
  }
  if (m.whole_piece_lookup) {
    uint32_t idx = m.token_ids.find(piece);
    if (idx != TokenIndex::kMissing) {
      out.push_back(idx);
      return;
    }
  }
  if (piece.size() > kMaxCachedPiece) {
    bpe_large(m, piece, out);
    return;
  }
  PieceCache& cache = cache_for(m);
  uint64_t h = hash_bytes_fast(piece);
  if (const PieceCache::Slot* s = cache.find(piece, h)) {
    out.insert(out.end(), cache.ids.begin() + s->ids_off, cache.ids.begin() + s->ids_off + s->ids_len);
    return;
  }
  size_t before = out.size();
  if (piece.size() <= kSmallPiece) bpe_small(m, piece, out);
  else bpe_large(m, piece, out);
  cache.insert(piece, h, out.data() + before, out.size() - before);
}

namespace {

void encode_plain(const Tokenizer& tok, const Tokenizer::Impl& m, std::string_view text, std::vector<uint32_t>& out) {
  if (text.empty()) return;
  std::string normalized;
  if (m.normalizer == Normalizer::Nfc && !is_ascii(text)) {
    normalized = unicode::nfc(text);
    text = normalized;
  }
  PreTokenizer pre(m.kind);
  pre.split(text, [&](std::string_view piece) { tok.encode_piece(piece, out); });
}

// Splits on added tokens: allowed(i) says whether added[i] is recognised; raise: any other added
// token found is an error.
template <class Allowed>
void encode_split(const Tokenizer& tok, const Tokenizer::Impl& m, std::string_view text, Allowed&& allowed,
                  bool raise, std::vector<uint32_t>& out) {
  size_t seg = 0, pos = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  while (pos < text.size()) {
    if (!m.added_first_byte[p[pos]]) {
      ++pos;
      continue;
    }
    bool matched = false;
    for (uint32_t i : m.added_by_first_byte[p[pos]]) {
      const std::string& c = m.added[i].content;
      if (text.size() - pos < c.size() || std::memcmp(text.data() + pos, c.data(), c.size()) != 0) continue;
      if (!m.added[i].special || allowed(i)) {
        encode_plain(tok, m, text.substr(seg, pos - seg), out);
        out.push_back(m.added[i].id);
        pos += c.size();
        seg = pos;
        matched = true;
        break;
      }
      if (raise && m.added[i].special)
        fail("{}: the text contains the special token {:?} (at byte {}), which is not allowed here", m.name, c, pos);
    }
    if (!matched) ++pos;
  }
  encode_plain(tok, m, text.substr(seg), out);
}

}  // namespace

void Tokenizer::encode_into(std::string_view text, Specials specials, std::vector<uint32_t>& out) const {
  const Impl& m = *impl_;
  if (m.added.empty() || (specials == Specials::AsText && !m.has_plain_added)) {
    encode_plain(*this, m, text, out);
    return;
  }
  if (specials == Specials::AsText) encode_split(*this, m, text, [](uint32_t) { return false; }, false, out);
  else if (specials == Specials::Allow) encode_split(*this, m, text, [](uint32_t) { return true; }, false, out);
  else encode_split(*this, m, text, [](uint32_t) { return false; }, true, out);
}

std::vector<uint32_t> Tokenizer::encode(std::string_view text, Specials specials) const {
  std::vector<uint32_t> out;
  out.reserve(text.size() / 3 + 4);
  encode_into(text, specials, out);
  return out;
}

std::vector<uint32_t> Tokenizer::encode(std::string_view text, const std::vector<std::string>& allowed,
                                        bool raise_on_other) const {
  const Impl& m = *impl_;
  std::vector<bool> ok(m.added.size(), false);
  for (size_t i = 0; i < m.added.size(); ++i)
    ok[i] = std::find(allowed.begin(), allowed.end(), m.added[i].content) != allowed.end();
  std::vector<uint32_t> out;
  encode_split(*this, m, text, [&](uint32_t i) { return bool(ok[i]); }, raise_on_other, out);
  return out;
}

std::vector<uint32_t> Tokenizer::encode_parallel(std::string_view text, Specials specials, int threads) const {
  const Impl& m = *impl_;
  if (threads <= 0) threads = omp_get_max_threads();
  constexpr size_t kChunk = 1u << 20;
  bool newline_in_added = false;
  for (const AddedToken& a : m.added) newline_in_added |= a.content.find('\n') != std::string::npos;
  if (threads == 1 || text.size() < 2 * kChunk || ((specials != Specials::AsText || m.has_plain_added) && newline_in_added))
    return encode(text, specials);
  // Cut after a '\n' followed by an ASCII character that is neither white space nor '/': every
  // pattern ends a piece there (see tokenizer.h), and NFC never composes across it.
  std::vector<size_t> cuts{0};
  size_t from = kChunk;
  while (from < text.size()) {
    size_t c = from;
    while (c + 1 < text.size()) {
      if (text[c] == '\n') {
        unsigned char nx = static_cast<unsigned char>(text[c + 1]);
        if (nx < 0x80 && nx != '/' && !(unicode::char_class(nx) & unicode::kSpace)) break;
      }
      ++c;
    }
    if (c + 1 >= text.size()) break;
    cuts.push_back(c + 1);
    from = c + 1 + kChunk;
  }
  cuts.push_back(text.size());
  const size_t n_chunks = cuts.size() - 1;
  std::vector<std::vector<uint32_t>> parts(n_chunks);
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (size_t i = 0; i < n_chunks; ++i) {
    try {
      encode_into(text.substr(cuts[i], cuts[i + 1] - cuts[i]), specials, parts[i]);
    } catch (...) {
#pragma omp critical
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  size_t total = 0;
  for (auto& p : parts) total += p.size();
  std::vector<uint32_t> out;
  out.reserve(total);
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<std::vector<uint32_t>> Tokenizer::encode_batch(const std::vector<std::string_view>& texts,
                                                           Specials specials, int threads) const {
  if (threads <= 0) threads = omp_get_max_threads();
  std::vector<std::vector<uint32_t>> out(texts.size());
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads)
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      encode_into(texts[i], specials, out[i]);
    } catch (...) {
#pragma omp critical
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return out;
}

}  // namespace baimo
