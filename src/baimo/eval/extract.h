// Answer extractors for generation tasks: the model's text -> the answer it gives, or nullopt when
// it gives none (counted as wrong and as no_answer, never dropped).
// - last_number: the last number in the text, as a canonical decimal string. Full-width digits and
//   signs (０-９, －, ．, ，) count as ASCII; commas between digit groups are dropped ("1,234" and
//   "１，２３４" -> "1234"); trailing units do not matter ("42 apples", "42元", "42km" -> "42");
//   "-5" -> "-5"; "3.50" -> "3.5", "7.0" -> "7" (so equal numbers compare equal).
// - exact: the text with leading/trailing whitespace removed (nullopt when nothing is left).
// - regex: the last match of an ECMAScript pattern; its group 1 when it has one, else the whole
//   match. A bad pattern is a baimo::Error naming it.
// - json_field: the last JSON object in the text (balanced braces, strings respected) that has the
//   field (a dotted path, "answer" or "result.value"); a string value as is, any other value as
//   compact JSON. nullopt when no object has it.
// answer_matches(example, text): extraction with the example's kind compared with its answer
// (last_number: both canonical; exact / regex: equal after trimming whitespace).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "baimo/eval/task.h"

namespace baimo::eval {

std::optional<std::string> extract_last_number(std::string_view text);
std::optional<std::string> extract_exact(std::string_view text);
std::optional<std::string> extract_regex(std::string_view text, const std::string& pattern);
std::optional<std::string> extract_json_field(std::string_view text, const std::string& path);
std::optional<std::string> extract_answer(const GenExample& e, std::string_view text);

struct AnswerCheck {
  bool extracted = false;  // an answer was found
  bool correct = false;
  std::string answer;      // the extracted answer ("" when none)
};
AnswerCheck check_answer(const GenExample& e, std::string_view text);

}  // namespace baimo::eval
