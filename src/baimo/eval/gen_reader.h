// Generation tasks from a file, and the one entry that reads any task file.
// parse_gen_text: JSONL, one object per line (blank lines skipped): "prompt" (string, the user's
//   message), "answer" (string or number: the reference), optional "extract": "number" (last number,
//   the default when the answer is a number or numeric text: "42", "-3.5", "1,234"), "exact" (the
//   default otherwise),
//   "regex" or "json" (both need "pattern": the regular expression / the field's dotted path).
//   Errors (baimo::Error) name the file, the line and the field.
// read_task_file: a .csv is multiple choice (eval/mc_reader.h); a .jsonl / .json whose first object
//   has "prompt" is a generation task, else multiple choice. The task is named after the file
//   (without directory and extension); its shots come from its own examples (no dev split).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "baimo/eval/task.h"

namespace baimo::eval {

std::vector<GenExample> parse_gen_text(std::string_view text, const std::string& name);
Task read_task_file(const std::string& path);

}  // namespace baimo::eval
