#include "baimo/data/preference_examples.h"

#include <algorithm>

#include "baimo/data/chat_records.h"
#include "baimo/data/sft_examples.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {

struct Pair {
  std::vector<int32_t> prompt, chosen, rejected;
  size_t length() const { return prompt.size() + std::max(chosen.size(), rejected.size()); }
};

// The answer's tokens: the whole conversation's after the prompt's, through the answer's end of turn.
std::vector<int32_t> answer_ids(const Tokenizer& tok, ChatTemplateKind kind, std::vector<ChatMessage> msgs,
                                const std::string& answer, const std::vector<int32_t>& prompt, const ChatRecord& r,
                                const char* which) {
  msgs.push_back({"assistant", answer});
  const RenderedChat full = render_chat_ids(tok, kind, msgs);
  const std::vector<int32_t> ids = chat_ids_with_bos(tok, full.ids);
  const size_t shift = ids.size() - full.ids.size();
  const size_t end = full.assistant_spans.back().end + shift;
  const auto differ = std::mismatch(prompt.begin(), prompt.end(), ids.begin(), ids.end()).first;
  if (differ != prompt.end() || end <= prompt.size())
    fail("{}: the {} template's tokens of the prompt are not the start of its tokens with the {} answer (they "
         "differ at token {} of {}: the answer's first bytes join the generation prompt's last token, as an answer "
         "starting with a line break does under ChatML; strip it)",
         r.where, chat_template_name(kind), which, differ - prompt.begin(), prompt.size());
  return {ids.begin() + static_cast<std::ptrdiff_t>(prompt.size()), ids.begin() + static_cast<std::ptrdiff_t>(end)};
}

Pair render(const Tokenizer& tok, const ChatRecord& r, const PreferenceRecord& rec, ChatTemplateKind kind) {
  const std::vector<ChatMessage> msgs = template_messages(r);
  Pair p;
  p.prompt = chat_ids_with_bos(tok, render_chat_ids(tok, kind, msgs, {.add_generation_prompt = true}).ids);
  p.chosen = answer_ids(tok, kind, msgs, rec.chosen, p.prompt, r, "chosen");
  p.rejected = answer_ids(tok, kind, msgs, rec.rejected, p.prompt, r, "rejected");
  return p;
}

}  // namespace

std::optional<PreferenceExample> encode_preference_example(const Tokenizer& tok, const PreferenceRecord& rec,
                                                           const PreferenceEncodeOptions& o, PreferenceStats& stats,
                                                           size_t index) {
  const size_t max_prompt = o.max_prompt_len ? o.max_prompt_len : o.max_len / 2;
  if (o.max_len > 0 && (max_prompt == 0 || max_prompt >= o.max_len))
    fail("preference data: max prompt length {} must be at least 1 and below max_len {} (room for an answer)",
         max_prompt, o.max_len);
  ++stats.records;
  ChatRecord r;
  r.messages = rec.prompt;
  r.exchanges = rec.exchanges;
  r.tools = rec.tools;
  r.where = rec.where;
  Pair p = render(tok, r, rec, o.kind);
  if (o.max_len > 0 && p.length() > o.max_len) {
    ++stats.truncated;
    for (size_t drop = 1; drop < r.exchanges.size() && p.length() > o.max_len; ++drop)
      p = render(tok, without_exchanges(r, drop), rec, o.kind);
    if (p.length() > o.max_len && p.prompt.size() > max_prompt) {  // keep the prompt's end (and its BOS)
      const std::optional<uint32_t> bos = tok.add_bos() ? tok.bos_id() : std::nullopt;
      const size_t keep = bos && p.prompt.front() == static_cast<int32_t>(*bos) ? 1 : 0;
      p.prompt.erase(p.prompt.begin() + static_cast<std::ptrdiff_t>(keep),
                     p.prompt.end() - static_cast<std::ptrdiff_t>(max_prompt - keep));
    }
    const size_t room = o.max_len - p.prompt.size();
    if (p.chosen.size() > room) p.chosen.resize(room);
    if (p.rejected.size() > room) p.rejected.resize(room);
  }
  if (p.chosen.empty() || p.rejected.empty() || p.chosen == p.rejected) {
    ++stats.skipped;
    return std::nullopt;
  }
  ++stats.examples;
  stats.tokens += p.prompt.size() + p.chosen.size() + p.rejected.size();
  stats.longest = std::max(stats.longest, p.length());
  return PreferenceExample{std::move(p.prompt), std::move(p.chosen), std::move(p.rejected), index};
}

PreferenceDataset encode_preference_examples(const Tokenizer& tok, std::span<const PreferenceRecord> records,
                                             const PreferenceEncodeOptions& o) {
  // Records in parallel, each with its own stats; merged in record order (the same on any thread count).
  std::vector<std::optional<PreferenceExample>> out(records.size());
  std::vector<PreferenceStats> stats(records.size());
  for_each_record_parallel(records.size(),
                           [&](size_t k) { out[k] = encode_preference_example(tok, records[k], o, stats[k], k); });
  PreferenceDataset d;
  d.examples.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const PreferenceStats& s = stats[i];
    d.stats.records += s.records;
    d.stats.examples += s.examples;
    d.stats.truncated += s.truncated;
    d.stats.skipped += s.skipped;
    d.stats.tokens += s.tokens;
    d.stats.longest = std::max(d.stats.longest, s.longest);
    if (out[i]) d.examples.push_back(std::move(*out[i]));
  }
  return d;
}

PreferenceSplit split_preference_examples(std::vector<PreferenceExample> examples, size_t records, double fraction,
                                          uint64_t seed) {
  PreferenceSplit s;
  split_by_record(std::move(examples), records, fraction, seed, s.train, s.held_out);
  return s;
}

}  // namespace baimo
