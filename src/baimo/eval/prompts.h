// Few-shot prompts of a task's examples (lm-evaluation-harness layout).
// pick_shots: `shots` distinct example indices for test example `index`, drawn from the dev split
//   (when it has examples) or else from the test split without `index`; deterministic in
//   (seed, index); fewer when the pool is smaller.
// mc_context: for multiple choice, each shot as "{context}{gold choice}\n\n", then the example's
//   context (the choices are scored after it).
// gen_messages: for chat models, each shot as a user turn (its prompt) and an assistant turn (its
//   answer), then the example's prompt as the last user turn.
// gen_raw_prompt: for base models (no chat template), each shot as "Q: {prompt}\nA: {answer}\n\n",
//   then "Q: {prompt}\nA:"; generation stops at the next newline.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "baimo/eval/task.h"
#include "baimo/tokenizer/chat_template.h"

namespace baimo::eval {

std::vector<size_t> pick_shots(size_t dev_size, size_t test_size, size_t index, int shots, uint64_t seed);
std::string mc_context(const Task& t, size_t index, int shots, uint64_t seed);
std::vector<ChatMessage> gen_messages(const Task& t, size_t index, int shots, uint64_t seed);
std::string gen_raw_prompt(const Task& t, size_t index, int shots, uint64_t seed);

}  // namespace baimo::eval
