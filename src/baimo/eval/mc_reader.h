// Readers for multiple-choice files (the common layouts), into McExample (eval/task.h).
// Layout by extension and fields:
// - .csv (C-Eval / CMMLU): a header row naming at least question, A, B, C, D, answer (other
//   columns, e.g. id or explanation, are ignored); RFC 4180 quoting ("" inside quotes, newlines
//   inside quoted fields). answer is one of A-D.
// - .jsonl: one JSON object per line (blank lines skipped), either
//   C-Eval style: question, A, B, C, D, answer (letter) — or
//   ARC / HellaSwag style: query or question; choices (a list of strings, or ARC's
//   {"text": [...], "label": [...]}); gold (index) or label (index, a digit string, or a letter /
//   one of choices.label).
// The prompt each becomes (lm-evaluation-harness's templates):
//   C-Eval:  "{question}\nA. {A}\nB. {B}\nC. {C}\nD. {D}\n答案：" with choices "A".."D" (no space)
//   query:   "{query}" with choices " {choice}" (HellaSwag: the query is the context to continue)
//   question:"Question: {question}\nAnswer:" with choices " {choice}" (ARC)
// Errors (baimo::Error) name the file, the line (1-based; a CSV record's first line) and the field:
// missing or empty field, wrong type, answer not among the choices, fewer than 2 choices, bad
// JSON, a header without a needed column, a row with fewer cells than the header, unterminated
// quote, an empty file.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "baimo/eval/task.h"

namespace baimo::eval {

std::vector<McExample> read_mc_file(const std::string& path);
// The same from text already read; `name` stands for the file in messages, `csv` picks the layout.
std::vector<McExample> parse_mc_text(std::string_view text, const std::string& name, bool csv);

}  // namespace baimo::eval
