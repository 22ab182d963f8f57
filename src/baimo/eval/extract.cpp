#include "baimo/eval/extract.h"

#include <nlohmann/json.hpp>

#include <regex>

#include "baimo/util/error.h"
#include "baimo/util/trim.h"

namespace baimo::eval {
namespace {

// Full-width forms (U+FF01..U+FF5E are ASCII + 0xFEE0) and the ideographic comma folded to ASCII
// for the characters numbers use; everything else kept as is.
std::string fold_fullwidth(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    // U+FF0C..U+FF19 is EF BC 8C..99: '，' '－' '．' '／' '０'..'９'.
    if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBC) {
      const auto c2 = static_cast<unsigned char>(s[i + 2]);
      if (c2 >= 0x8C && c2 <= 0x99) {
        out += static_cast<char>(',' + (c2 - 0x8C));
        i += 3;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "-0012.500" -> "-12.5"; "-0" -> "0".
std::string canonical_number(std::string s) {
  bool neg = !s.empty() && s[0] == '-';
  if (neg) s.erase(0, 1);
  std::string ip = s, fp;
  if (auto dot = s.find('.'); dot != std::string::npos) ip = s.substr(0, dot), fp = s.substr(dot + 1);
  while (ip.size() > 1 && ip[0] == '0') ip.erase(0, 1);
  if (ip.empty()) ip = "0";
  while (!fp.empty() && fp.back() == '0') fp.pop_back();
  std::string out = fp.empty() ? ip : ip + "." + fp;
  if (neg && out != "0") out = "-" + out;
  return out;
}

}  // namespace

std::optional<std::string> extract_last_number(std::string_view text) {
  const std::string s = fold_fullwidth(text);
  // Scan numbers left to right: [-]digits(,ddd)*[.digits]; keep the last.
  std::optional<std::string> last;
  for (size_t i = 0; i < s.size();) {
    if (!is_digit(s[i])) {
      ++i;
      continue;
    }
    const bool neg = i > 0 && s[i - 1] == '-' && (i < 2 || !is_digit(s[i - 2]));  // "3-5" is not -5
    std::string num;
    size_t j = i;
    while (j < s.size()) {
      if (is_digit(s[j])) num += s[j++];
      // A comma followed by exactly three digits groups thousands ("1,234"); else it separates.
      else if (s[j] == ',' && j + 3 < s.size() && is_digit(s[j + 1]) && is_digit(s[j + 2]) &&
               is_digit(s[j + 3]) && (j + 4 >= s.size() || !is_digit(s[j + 4])))
        ++j;
      else break;
    }
    if (j + 1 < s.size() && s[j] == '.' && is_digit(s[j + 1])) {
      num += '.';
      ++j;
      while (j < s.size() && is_digit(s[j])) num += s[j++];
    }
    last = canonical_number((neg ? "-" : "") + num);
    i = j;
  }
  return last;
}

std::optional<std::string> extract_exact(std::string_view text) {
  std::string t(trim_space(text));
  if (t.empty()) return std::nullopt;
  return t;
}

std::optional<std::string> extract_regex(std::string_view text, const std::string& pattern) {
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail("answer pattern '{}' is not a valid regular expression: {}", pattern, e.what());
  }
  const std::string s(text);
  std::optional<std::string> last;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    last = m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
  }
  return last;
}

std::optional<std::string> extract_json_field(std::string_view text, const std::string& path) {
  for (size_t start = text.rfind('{'); start != std::string_view::npos; start = start ? text.rfind('{', start - 1) : std::string_view::npos) {
    // The balanced end of the object starting here.
    int depth = 0;
    bool in_str = false, esc = false;
    size_t end = std::string_view::npos;
    for (size_t i = start; i < text.size() && end == std::string_view::npos; ++i) {
      const char c = text[i];
      if (in_str) {
        if (esc) esc = false;
        else if (c == '\\') esc = true;
        else if (c == '"') in_str = false;
      } else if (c == '"') in_str = true;
      else if (c == '{') ++depth;
      else if (c == '}' && --depth == 0) end = i;
    }
    if (end == std::string_view::npos) continue;
    nlohmann::json j = nlohmann::json::parse(text.substr(start, end - start + 1), nullptr, false);
    if (j.is_discarded()) continue;
    const nlohmann::json* v = &j;
    for (size_t a = 0; v && a <= path.size();) {
      size_t b = path.find('.', a);
      if (b == std::string::npos) b = path.size();
      const std::string key = path.substr(a, b - a);
      v = v->is_object() && v->contains(key) ? &(*v)[key] : nullptr;
      a = b + 1;
    }
    if (v) return v->is_string() ? v->get<std::string>() : v->dump();
  }
  return std::nullopt;
}

std::optional<std::string> extract_answer(const GenExample& e, std::string_view text) {
  switch (e.extract) {
    case ExtractKind::LastNumber: return extract_last_number(text);
    case ExtractKind::Exact: return extract_exact(text);
    case ExtractKind::Regex: return extract_regex(text, e.pattern);
    case ExtractKind::JsonField: return extract_json_field(text, e.pattern);
  }
  return std::nullopt;
}

AnswerCheck check_answer(const GenExample& e, std::string_view text) {
  AnswerCheck c;
  std::optional<std::string> got = extract_answer(e, text);
  if (!got) return c;
  c.extracted = true;
  c.answer = *got;
  if (e.extract == ExtractKind::LastNumber) {
    std::optional<std::string> want = extract_last_number(e.answer);
    c.correct = want && *want == *got;
  } else {
    c.correct = trim_space(*got) == trim_space(e.answer);
  }
  return c;
}

}  // namespace baimo::eval
