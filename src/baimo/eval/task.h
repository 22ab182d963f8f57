// The examples an evaluation scores, independent of where they come from (a file reader or a
// built-in suite) and of the model.
// - McExample: multiple choice by log-likelihood (lm-evaluation-harness style). The model reads
//   `context` and each choice is the continuation text that follows it verbatim (so a choice that
//   follows "Answer:" starts with its space: " Paris"); gold is the index of the right choice.
// - GenExample: a generation task with a verifiable answer. `prompt` is the user's message (sent
//   through the chat template, or raw for base models); the model's answer is reduced by the
//   extractor (eval/extract.h) and compared with `answer`.
// - Task: a named list of test examples plus the dev examples few-shot prompts draw from (empty:
//   shots are drawn from the test examples themselves, never the one being scored).
#pragma once
#include <string>
#include <vector>

namespace baimo::eval {

struct McExample {
  std::string context;
  std::vector<std::string> choices;  // continuations, >= 2
  int gold = 0;                      // index into choices
};

enum class ExtractKind { LastNumber, Exact, Regex, JsonField };

struct GenExample {
  std::string prompt;
  std::string answer;                          // the reference, compared after extraction
  ExtractKind extract = ExtractKind::Exact;
  std::string pattern;                         // Regex: group 1 (or the whole match) is the answer;
                                               // JsonField: the field's dotted path
};

struct Task {
  std::string name;
  bool generation = false;  // GenExample lists are used, else McExample lists
  std::vector<McExample> mc_test, mc_dev;
  std::vector<GenExample> gen_test, gen_dev;
  size_t size() const { return generation ? gen_test.size() : mc_test.size(); }
};

}  // namespace baimo::eval
