#include "baimo/data/preference_records.h"

#include <algorithm>
#include <optional>

#include "baimo/data/chat_json.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/trim.h"

namespace baimo {
namespace {

using namespace chat_json;

bool same_messages(const std::vector<ChatMessage>& a, const std::vector<ChatMessage>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const ChatMessage& x, const ChatMessage& y) { return x.role == y.role && x.content == y.content; });
}

PreferenceRecord from_prompt(ChatRecord&& p) {
  PreferenceRecord r;
  r.prompt = std::move(p.messages);
  r.exchanges = std::move(p.exchanges);
  r.tools = std::move(p.tools);
  r.where = std::move(p.where);
  return r;
}

// ---- OpenAI / TRL --------------------------------------------------------------------------------
std::string assistant_message(const Where& w, const Json& m, const std::string& field) {
  if (!m.is_object()) w.bad(field, fmt::format("expected an assistant message object, got {}", type_name(m)));
  const std::string& role = w.string(w.need(m, "role", field + ".role"), field + ".role");
  if (role != "assistant") w.bad(field + ".role", fmt::format("expected \"assistant\" (the answer), got \"{}\"", role));
  return openai_answer(w, m, field, nullptr);
}

// A string, an assistant message, or a list of messages ending with the answer (the others: the prompt).
std::string openai_pair_answer(const Where& w, const Json& v, const std::string& field, const std::vector<ChatMessage>& prompt) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) return assistant_message(w, v, field);
  if (!v.is_array()) w.bad(field, fmt::format("expected a string, an assistant message or a list of messages, got {}", type_name(v)));
  if (v.empty()) w.bad(field, "expected a list ending with the assistant answer, got an empty list");
  std::string answer = assistant_message(w, v.back(), fmt::format("{}[{}]", field, v.size() - 1));
  if (v.size() > 1) {
    Json head = Json::array();
    for (size_t i = 0; i + 1 < v.size(); ++i) head.push_back(v[i]);
    TurnBuilder b(w);
    openai_messages(w, head, field, b);
    if (!same_messages(b.finish_prompt(field, "").messages, prompt))
      w.bad(field, "the messages before the answer are not the record's prompt");
  }
  return answer;
}

PreferenceRecord openai_pair(const Where& w, const Json& rec, const std::string& tools) {
  const char* key = rec.contains("prompt") ? "prompt" : "messages";
  const Json& p = rec.at(key);
  TurnBuilder b(w);
  if (p.is_string()) b.prompt(p.get<std::string>(), false, key);  // TRL standard text
  else openai_messages(w, p, key, b);
  PreferenceRecord r = from_prompt(b.finish_prompt(key, tools));
  r.chosen = openai_pair_answer(w, w.need(rec, "chosen", "chosen"), "chosen", r.prompt);
  r.rejected = openai_pair_answer(w, w.need(rec, "rejected", "rejected"), "rejected", r.prompt);
  return r;
}

// ---- ShareGPT ------------------------------------------------------------------------------------
PreferenceRecord sharegpt_pair(const Where& w, const Json& rec, const std::string& tools) {
  TurnBuilder b(w);
  sharegpt_turns(w, rec.at("conversations"), "conversations", w.optional_string(rec, "system", "system"), b);
  PreferenceRecord r = from_prompt(b.finish_prompt("conversations", tools));
  r.chosen = sharegpt_answer(w, w.need(rec, "chosen", "chosen"), "chosen", nullptr);
  r.rejected = sharegpt_answer(w, w.need(rec, "rejected", "rejected"), "rejected", nullptr);
  return r;
}

// ---- Anthropic HH --------------------------------------------------------------------------------
struct HhTurn {
  bool human;
  std::string text;
};

// "\n\nHuman: a\n\nAssistant: b" -> turns (a transcript may also start with "Human:" itself).
std::vector<HhTurn> hh_turns(const Where& w, std::string_view transcript, const std::string& field) {
  static constexpr std::string_view kHuman = "\n\nHuman:", kAssistant = "\n\nAssistant:";
  const size_t lead = transcript.find_first_not_of(" \t\r\n");
  const std::string s = "\n\n" + std::string(lead == std::string_view::npos ? "" : transcript.substr(lead));
  auto next = [&s](size_t from, bool& human) {
    const size_t h = s.find(kHuman, from), a = s.find(kAssistant, from);
    human = h < a;
    return std::min(h, a);
  };
  bool human = false;
  size_t at = next(0, human);
  if (at != 0) w.bad(field, "expected an Anthropic HH transcript \"\\n\\nHuman: ...\\n\\nAssistant: ...\"");
  std::vector<HhTurn> turns;
  while (at != std::string::npos) {
    const size_t begin = at + (human ? kHuman.size() : kAssistant.size());
    bool next_human = false;
    const size_t end = next(begin, next_human);
    const std::string_view text = std::string_view(s).substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    turns.push_back({human, std::string(trim_space(text, " \t\r\n"))});
    at = end;
    human = next_human;
  }
  if (!turns.front().human) w.bad(field, "expected the transcript to start with a Human turn (the prompt)");
  if (turns.back().human) w.bad(field, "expected the transcript to end with an Assistant turn (the answer)");
  return turns;
}

bool alternates(const std::vector<HhTurn>& t) {
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i].human != (i % 2 == 0)) return false;
  return true;
}

// nullopt: a skipped pair (counted in stats).
std::optional<PreferenceRecord> hh_pair(const Where& w, const Json& rec, const std::string& tools, PreferenceReadStats& st) {
  const std::vector<HhTurn> c = hh_turns(w, w.string(w.need(rec, "chosen", "chosen"), "chosen"), "chosen");
  const std::vector<HhTurn> r = hh_turns(w, w.string(w.need(rec, "rejected", "rejected"), "rejected"), "rejected");
  auto skip = [&](size_t& count) {
    ++count;
    if (st.first_skipped.empty()) st.first_skipped = w.where;
    return std::nullopt;
  };
  if (!alternates(c) || !alternates(r)) return skip(st.turn_order);
  if (c.back().text.empty() || r.back().text.empty()) return skip(st.empty_answer);
  const bool same = c.size() == r.size() && std::equal(c.begin(), c.end() - 1, r.begin(), [](const HhTurn& x, const HhTurn& y) {
                      return x.text == y.text;
                    });
  if (!same)
    fail("{}: chosen and rejected share no prompt (their transcripts differ before the last Assistant turn)", w.where);
  TurnBuilder b(w);
  for (size_t i = 0; i + 1 < c.size(); ++i) {
    const std::string f = fmt::format("chosen (turn {})", i + 1);
    if (c[i].human) b.prompt(c[i].text, false, f);
    else b.answer(c[i].text, false, f);
  }
  PreferenceRecord out = from_prompt(b.finish_prompt("chosen", tools));
  out.chosen = c.back().text;
  out.rejected = r.back().text;
  return out;
}

}  // namespace

std::vector<PreferenceRecord> parse_preference_records(std::string_view text, const std::string& name,
                                                       PreferenceReadStats* stats) {
  PreferenceReadStats st;
  std::vector<PreferenceRecord> out;
  for_each_json_record(text, name, [&](const Json& rec, size_t number, size_t line) {
    ++st.records;
    Where w{record_where(name, number, line)};
    if (!rec.is_object()) fail("{}: expected a JSON object, got {}", w.where, type_name(rec));
    const std::string tools = tools_text(w, rec);
    std::optional<PreferenceRecord> r;
    if (rec.contains("conversations")) {
      r = sharegpt_pair(w, rec, tools);
    } else if (rec.contains("prompt") || rec.contains("messages")) {
      r = openai_pair(w, rec, tools);
    } else if (rec.contains("chosen") || rec.contains("rejected")) {
      r = hh_pair(w, rec, tools, st);
      if (!r) return;
    } else {
      fail("{}: not a preference record: expected 'conversations' (ShareGPT) or 'prompt' / 'messages' (OpenAI, "
           "TRL) with 'chosen' and 'rejected', or 'chosen' and 'rejected' transcripts (Anthropic HH)",
           w.where);
    }
    if (r->chosen.empty()) w.bad("chosen", "expected a non-empty answer");
    if (r->rejected.empty()) w.bad("rejected", "expected a non-empty answer");
    if (r->chosen == r->rejected) w.bad("rejected", "the same answer as chosen (a pair needs two different answers)");
    out.push_back(std::move(*r));
  });
  st.pairs = out.size();
  if (stats) *stats = st;
  if (out.empty())
    fail("{}: no preference pairs ({} records; skipped: {} with an empty answer, {} with turns out of order)", name,
         st.records, st.empty_answer, st.turn_order);
  return out;
}

std::vector<PreferenceRecord> read_preference_records(const std::string& path, PreferenceReadStats* stats) {
  return parse_preference_records(read_file_gunzip(path), path, stats);
}

}  // namespace baimo
