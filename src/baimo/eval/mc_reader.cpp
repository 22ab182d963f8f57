#include "baimo/eval/mc_reader.h"

#include <nlohmann/json.hpp>

#include <map>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::eval {
namespace {

using nlohmann::json;

McExample ceval_example(const std::string& question, const std::string (&opts)[4], const std::string& answer,
                        const std::string& where) {
  if (answer.size() != 1 || answer[0] < 'A' || answer[0] > 'D')
    fail("{}: field 'answer' is '{}', expected one of A, B, C, D", where, answer);
  McExample e;
  std::string q = question;
  while (!q.empty() && (q.back() == ' ' || q.back() == '\n' || q.back() == '\r' || q.back() == '\t')) q.pop_back();
  e.context = q;
  for (int i = 0; i < 4; ++i) e.context += fmt::format("\n{}. {}", static_cast<char>('A' + i), opts[i]);
  e.context += "\n答案：";
  e.choices = {"A", "B", "C", "D"};
  e.gold = answer[0] - 'A';
  return e;
}

std::string string_field(const json& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end()) fail("{}: missing field '{}'", where, key);
  if (it->is_number()) return it->dump();  // C-Eval options can be numbers
  if (!it->is_string()) fail("{}: field '{}' must be a string, got {}", where, key, it->type_name());
  return it->get<std::string>();
}

McExample json_example(const json& o, const std::string& where) {
  if (!o.is_object()) fail("{}: expected a JSON object, got {}", where, o.type_name());
  if (o.contains("A") && !o.contains("choices")) {
    std::string opts[4];
    for (int i = 0; i < 4; ++i) opts[i] = string_field(o, std::string(1, static_cast<char>('A' + i)).c_str(), where);
    return ceval_example(string_field(o, "question", where), opts, string_field(o, "answer", where), where);
  }
  McExample e;
  if (o.contains("query")) e.context = string_field(o, "query", where);
  else if (o.contains("question")) e.context = "Question: " + string_field(o, "question", where) + "\nAnswer:";
  else fail("{}: missing field 'query' or 'question'", where);
  auto ch = o.find("choices");
  if (ch == o.end()) fail("{}: missing field 'choices'", where);
  std::vector<std::string> labels;
  const json* texts = &*ch;
  if (ch->is_object()) {  // ARC: {"text": [...], "label": [...]}
    if (!ch->contains("text") || !(*ch)["text"].is_array()) fail("{}: field 'choices.text' must be a list", where);
    texts = &(*ch)["text"];
    if (ch->contains("label")) {
      const json& l = (*ch)["label"];
      if (!l.is_array() || l.size() != texts->size())
        fail("{}: field 'choices.label' must be a list as long as choices.text", where);
      for (auto& x : l) labels.push_back(x.is_string() ? x.get<std::string>() : x.dump());
    }
  } else if (!ch->is_array()) {
    fail("{}: field 'choices' must be a list of strings, got {}", where, ch->type_name());
  }
  for (auto& t : *texts) {
    if (!t.is_string()) fail("{}: field 'choices' must hold strings, got {}", where, t.type_name());
    e.choices.push_back(" " + t.get<std::string>());
  }
  if (e.choices.size() < 2) fail("{}: field 'choices' has {} choice(s), needs at least 2", where, e.choices.size());
  const char* key = o.contains("gold") ? "gold" : o.contains("label") ? "label" : o.contains("answer") ? "answer" : nullptr;
  if (!key) fail("{}: missing field 'gold' or 'label'", where);
  const json& g = o[key];
  int64_t idx = -1;
  if (g.is_number_integer()) idx = g.get<int64_t>();
  else if (g.is_string()) {
    const std::string s = g.get<std::string>();
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == s) idx = static_cast<int64_t>(i);
    if (idx < 0 && !s.empty() && s.find_first_not_of("0123456789") == std::string::npos) idx = std::stoll(s);
    else if (idx < 0 && s.size() == 1 && s[0] >= 'A' && s[0] <= 'Z') idx = s[0] - 'A';
  } else {
    fail("{}: field '{}' must be an index or a label, got {}", where, key, g.type_name());
  }
  if (idx < 0 || idx >= static_cast<int64_t>(e.choices.size()))
    fail("{}: field '{}' is {}, not one of the {} choices", where, key, g.dump(), e.choices.size());
  e.gold = static_cast<int>(idx);
  return e;
}

// RFC 4180 records: cells, and the 1-based line each record starts on.
std::vector<std::pair<int64_t, std::vector<std::string>>> csv_records(std::string_view t, const std::string& name) {
  std::vector<std::pair<int64_t, std::vector<std::string>>> out;
  size_t i = 0;
  int64_t line = 1;
  if (t.starts_with("\xEF\xBB\xBF")) i = 3;  // UTF-8 BOM
  while (i < t.size()) {
    const int64_t start = line;
    std::vector<std::string> cells(1);
    bool end = false;
    while (!end) {
      if (i < t.size() && t[i] == '"') {
        ++i;
        for (;;) {
          if (i >= t.size()) fail("{}:{}: unterminated quoted field", name, start);
          if (t[i] == '"') {
            if (i + 1 < t.size() && t[i + 1] == '"') cells.back() += '"', i += 2;
            else {
              ++i;
              break;
            }
          } else {
            if (t[i] == '\n') ++line;
            cells.back() += t[i++];
          }
        }
      }
      while (i < t.size() && t[i] != ',' && t[i] != '\n' && t[i] != '\r') cells.back() += t[i++];
      if (i >= t.size()) end = true;
      else if (t[i] == ',') cells.emplace_back(), ++i;
      else {
        if (t[i] == '\r') ++i;
        if (i < t.size() && t[i] == '\n') ++i;
        ++line;
        end = true;
      }
    }
    if (!(cells.size() == 1 && cells[0].empty())) out.emplace_back(start, std::move(cells));
  }
  return out;
}

}  // namespace

std::vector<McExample> parse_mc_text(std::string_view text, const std::string& name, bool csv) {
  std::vector<McExample> out;
  if (csv) {
    auto recs = csv_records(text, name);
    if (recs.empty()) fail("{}: empty file (expected a header row: question,A,B,C,D,answer)", name);
    std::map<std::string, size_t> col;
    for (size_t i = 0; i < recs[0].second.size(); ++i) col[recs[0].second[i]] = i;
    for (const char* need : {"question", "A", "B", "C", "D", "answer"})
      if (!col.count(need)) fail("{}:1: header has no column '{}' (needs question, A, B, C, D, answer)", name, need);
    for (size_t r = 1; r < recs.size(); ++r) {
      const auto& cells = recs[r].second;  // (not a structured binding: clang 14 cannot capture those)
      const std::string where = fmt::format("{}:{}", name, recs[r].first);
      auto cell = [&](const char* k) -> const std::string& {
        const size_t c = col[k];
        if (c >= cells.size()) fail("{}: row has {} cells, no field '{}' (column {})", where, cells.size(), k, c + 1);
        if (cells[c].empty()) fail("{}: field '{}' is empty", where, k);
        return cells[c];
      };
      const std::string opts[4] = {cell("A"), cell("B"), cell("C"), cell("D")};
      out.push_back(ceval_example(cell("question"), opts, cell("answer"), where));
    }
  } else {
    int64_t line = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      std::string_view l = text.substr(pos, nl - pos);
      ++line;
      pos = nl + 1;
      if (l.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      const std::string where = fmt::format("{}:{}", name, line);
      json o;
      try {
        o = json::parse(l);
      } catch (const json::parse_error& e) {
        fail("{}: not valid JSON ({})", where, e.what());
      }
      out.push_back(json_example(o, where));
    }
  }
  if (out.empty()) fail("{}: no examples", name);
  return out;
}

std::vector<McExample> read_mc_file(const std::string& path) {
  const bool csv = path.ends_with(".csv");
  if (!csv && !path.ends_with(".jsonl") && !path.ends_with(".json"))
    fail("{}: multiple-choice files are .csv (C-Eval/CMMLU) or .jsonl (C-Eval, ARC, HellaSwag)", path);
  return parse_mc_text(read_file(path), path, csv);
}

}  // namespace baimo::eval
