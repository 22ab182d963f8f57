#include "baimo/eval/gen_reader.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <regex>

#include "baimo/eval/extract.h"
#include "baimo/eval/mc_reader.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::eval {
namespace {

using nlohmann::json;

// Calls f(line number, line) for each non-blank line.
template <class F>
void for_lines(std::string_view text, F f) {
  int64_t line = 0;
  for (size_t pos = 0; pos <= text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view l = text.substr(pos, nl - pos);
    ++line;
    pos = nl + 1;
    if (l.find_first_not_of(" \t\r") != std::string_view::npos && !f(line, l)) return;
  }
}

GenExample gen_example(const json& o, const std::string& where) {
  if (!o.is_object()) fail("{}: expected a JSON object, got {}", where, o.type_name());
  GenExample e;
  auto p = o.find("prompt");
  if (p == o.end()) fail("{}: missing field 'prompt'", where);
  if (!p->is_string() || p->get<std::string>().empty()) fail("{}: field 'prompt' must be a non-empty string", where);
  e.prompt = p->get<std::string>();
  auto a = o.find("answer");
  if (a == o.end()) fail("{}: missing field 'answer'", where);
  if (a->is_string()) e.answer = a->get<std::string>();
  else if (a->is_number()) e.answer = a->dump();
  else fail("{}: field 'answer' must be a string or a number, got {}", where, a->type_name());
  static const std::regex numeric(R"(\s*-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*)");
  std::string kind = a->is_number() || std::regex_match(e.answer, numeric) ? "number" : "exact";
  if (auto k = o.find("extract"); k != o.end()) {
    if (!k->is_string()) fail("{}: field 'extract' must be a string", where);
    kind = k->get<std::string>();
  }
  if (kind == "number") e.extract = ExtractKind::LastNumber;
  else if (kind == "exact") e.extract = ExtractKind::Exact;
  else if (kind == "regex" || kind == "json") {
    e.extract = kind == "regex" ? ExtractKind::Regex : ExtractKind::JsonField;
    auto pt = o.find("pattern");
    if (pt == o.end() || !pt->is_string() || pt->get<std::string>().empty())
      fail("{}: field 'pattern' (a non-empty string) is needed with extract '{}'", where, kind);
    e.pattern = pt->get<std::string>();
    if (e.extract == ExtractKind::Regex) {
      try {
        extract_regex("", e.pattern);
      } catch (const Error& err) {
        fail("{}: field 'pattern': {}", where, err.what());
      }
    }
  } else {
    fail("{}: field 'extract' is '{}', expected number, exact, regex or json", where, kind);
  }
  return e;
}

json parse_line(std::string_view l, const std::string& where) {
  json o = json::parse(l, nullptr, false);
  if (o.is_discarded()) fail("{}: not valid JSON", where);
  return o;
}

}  // namespace

std::vector<GenExample> parse_gen_text(std::string_view text, const std::string& name) {
  std::vector<GenExample> out;
  for_lines(text, [&](int64_t line, std::string_view l) {
    const std::string where = fmt::format("{}:{}", name, line);
    out.push_back(gen_example(parse_line(l, where), where));
    return true;
  });
  if (out.empty()) fail("{}: no examples", name);
  return out;
}

Task read_task_file(const std::string& path) {
  Task t;
  t.name = std::filesystem::path(path).stem().string();
  if (path.ends_with(".jsonl") || path.ends_with(".json")) {
    const std::string text = read_file(path);
    for_lines(text, [&](int64_t line, std::string_view l) {
      json o = parse_line(l, fmt::format("{}:{}", path, line));
      t.generation = o.is_object() && o.contains("prompt");
      return false;  // the first object decides
    });
    if (t.generation) t.gen_test = parse_gen_text(text, path);
    else t.mc_test = parse_mc_text(text, path, false);
    return t;
  }
  t.mc_test = read_mc_file(path);  // .csv, or the error naming the accepted extensions
  return t;
}

}  // namespace baimo::eval
