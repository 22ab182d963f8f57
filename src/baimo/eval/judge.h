// A judge model comparing two answers to a question (`baimo eval winrate --judge`), by its
// log-probabilities, without generating.
// - The judge prompt: a template (kDefaultJudgeTemplate, or a file's text) with {question},
//   {answer_a} and {answer_b} filled in (one pass: braces inside the filled texts stay as they are;
//   other braces of the template too), sent as the one user turn of the judge's chat template with
//   the generation prompt. A template file without each of the three placeholders is a baimo::Error
//   naming the file and the placeholder.
// - judge_pairs: for each pair, margin = log p("A") - log p("B") of the judge's next token after the
//   prompt (eval/mc_score.h on the inference engine: the prompt prefilled once, both letters scored
//   from the same position), computed in both orders: margin_ab with model a's answer shown as A,
//   margin_ba with model b's answer shown as A (position bias cancels). "A" and "B" must each encode
//   to one token (else a baimo::Error); a judge prompt of ctx tokens or more is a baimo::Error
//   naming the pair.
// - judge_outcome: Win when both orders prefer model a (margin_ab > 0 and margin_ba < 0), Loss when
//   both prefer model b, else Tie (inconsistent or equal verdicts).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "baimo/eval/winrate_stats.h"
#include "baimo/infer/inference_model.h"

namespace baimo::eval {

extern const char* const kDefaultJudgeTemplate;

// "" -> kDefaultJudgeTemplate; else the file's text, checked.
std::string load_judge_template(const std::string& path);
void check_judge_template(const std::string& tmpl, const std::string& where);
std::string fill_judge_template(const std::string& tmpl, const std::string& question, const std::string& answer_a,
                                const std::string& answer_b);

struct JudgeVerdict {
  double margin_ab = 0, margin_ba = 0;
  Outcome outcome = Outcome::Tie;
};

Outcome judge_outcome(double margin_ab, double margin_ba);

struct JudgePair {
  std::string question, answer_a, answer_b;
};

std::vector<JudgeVerdict> judge_pairs(const InferenceModel& judge, const std::string& tmpl,
                                      const std::vector<JudgePair>& pairs, int slots, int64_t ctx,
                                      const std::function<void(int64_t done)>& progress = {});

}  // namespace baimo::eval
