#include "baimo/data/sft_examples.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "baimo/data/seeded_permutation.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

SftExample to_example(const Tokenizer& tok, const RenderedChat& r, size_t record) {
  SftExample e;
  e.record = record;
  e.ids = chat_ids_with_bos(tok, r.ids);
  const size_t shift = e.ids.size() - r.ids.size();
  e.mask.assign(e.ids.size(), 0);
  for (const TokenSpan& s : r.assistant_spans)
    for (size_t i = s.begin; i < s.end; ++i) e.mask[i + shift] = 1;
  return e;
}

SftExample render(const Tokenizer& tok, const ChatRecord& r, const SftEncodeOptions& o, size_t index) {
  const std::vector<ChatMessage> msgs = template_messages(r);
  return to_example(tok, render_chat_ids(tok, o.kind, msgs), index);
}

}  // namespace

std::optional<SftExample> encode_sft_example(const Tokenizer& tok, const ChatRecord& record,
                                             const SftEncodeOptions& o, SftStats& stats, size_t index) {
  ++stats.records;
  SftExample e = render(tok, record, o, index);
  if (o.max_len > 0 && e.ids.size() > o.max_len) {
    if (o.overflow == SftOverflow::Skip) {
      ++stats.skipped;
      return std::nullopt;
    }
    ++stats.truncated;
    for (size_t drop = 1; drop < record.exchanges.size() && e.ids.size() > o.max_len; ++drop)
      e = render(tok, without_exchanges(record, drop), o, index);
    if (e.ids.size() > o.max_len) {
      e.ids.resize(o.max_len);
      e.mask.resize(o.max_len);
    }
  }
  size_t answer = 0;
  for (uint8_t m : e.mask) answer += m;
  if (answer == 0) {
    ++stats.no_answer;
    return std::nullopt;
  }
  ++stats.examples;
  stats.tokens += e.ids.size();
  stats.answer_tokens += answer;
  stats.longest = std::max(stats.longest, e.ids.size());
  return e;
}

SftDataset encode_sft_examples(const Tokenizer& tok, std::span<const ChatRecord> records, const SftEncodeOptions& o) {
  // Records in parallel, each with its own stats; merged in record order (the same on any thread count).
  std::vector<std::optional<SftExample>> out(records.size());
  std::vector<SftStats> stats(records.size());
  for_each_record_parallel(records.size(), [&](size_t k) { out[k] = encode_sft_example(tok, records[k], o, stats[k], k); });
  SftDataset d;
  d.examples.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const SftStats& s = stats[i];
    d.stats.records += s.records;
    d.stats.examples += s.examples;
    d.stats.truncated += s.truncated;
    d.stats.skipped += s.skipped;
    d.stats.no_answer += s.no_answer;
    d.stats.tokens += s.tokens;
    d.stats.answer_tokens += s.answer_tokens;
    d.stats.longest = std::max(d.stats.longest, s.longest);
    if (out[i]) d.examples.push_back(std::move(*out[i]));
  }
  return d;
}

std::vector<uint8_t> held_out_records(size_t n, double fraction, uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0)) fail("held-out fraction {} is out of range (expected 0 <= fraction < 1)", fraction);
  std::vector<uint8_t> held(n, 0);
  if (fraction == 0.0 || n < 2) return held;
  size_t k = static_cast<size_t>(std::llround(fraction * static_cast<double>(n)));
  k = std::clamp<size_t>(k, 1, n - 1);
  const std::vector<size_t> p = seeded_permutation(n, seed);
  for (size_t i = 0; i < k; ++i) held[p[i]] = 1;
  return held;
}

SftSplit split_sft_examples(std::vector<SftExample> examples, size_t records, double fraction, uint64_t seed) {
  SftSplit s;
  split_by_record(std::move(examples), records, fraction, seed, s.train, s.held_out);
  return s;
}

void for_each_record_parallel(size_t n, const std::function<void(size_t)>& encode) {
  std::vector<std::exception_ptr> errors(n);
#pragma omp parallel for schedule(dynamic, 16)
  for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) {
    try {
      encode(static_cast<size_t>(i));
    } catch (...) {
      errors[static_cast<size_t>(i)] = std::current_exception();
    }
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

std::vector<int32_t> chat_ids_with_bos(const Tokenizer& tok, std::span<const uint32_t> ids) {
  const std::optional<uint32_t> bos = tok.bos_id();
  const bool add_bos = tok.add_bos() && bos && (ids.empty() || ids.front() != *bos);
  std::vector<int32_t> out;
  out.reserve(ids.size() + add_bos);
  if (add_bos) out.push_back(static_cast<int32_t>(*bos));
  for (uint32_t id : ids) out.push_back(static_cast<int32_t>(id));
  return out;
}

}  // namespace baimo
