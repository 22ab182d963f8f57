// Built-in task suites baimo generates itself, in English and Chinese (suffix _zh), deterministic
// from a seed, so every stage of the recipe can be measured offline and in tests.
// Suites (test split: `test_size` examples, dev split for few-shot: `dev_size`):
//   arith_gen / arith_gen_zh     two-digit addition, "What is 23 + 58?" -> "81" (last number)
//   copy_gen / copy_gen_zh       repeat a short string (3-6 letters, or 2-4 汉字) exactly (exact match)
//   reverse_gen / reverse_gen_zh write the string backwards (exact match)
//   arith_mc / arith_mc_zh       the addition as multiple choice: the sum among 3 distractors
//                                (sum ± 1, ± 10, shuffled), context "Question: ...\nAnswer:"
//   reverse_mc / reverse_mc_zh   the reversal among 3 distractors (the string itself, two swaps)
// Splits are held out: dev and test come from independent streams of the seed and a dev example
// equal to a test one is dropped, so a shot never shows a test question. Same (name, seed, sizes)
// => the same examples on every machine (own splitmix64 generator, no std distributions).
// An unknown name is a baimo::Error listing the names.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/eval/task.h"

namespace baimo::eval {

const std::vector<std::string>& builtin_task_names();
bool is_builtin_task(std::string_view name);
Task make_builtin_task(std::string_view name, uint64_t seed, int test_size = 200, int dev_size = 50);

}  // namespace baimo::eval
