#include "baimo/eval/judge.h"

#include <algorithm>
#include <array>

#include "baimo/eval/mc_score.h"
#include "baimo/infer/engine.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::eval {
namespace {

constexpr std::array<const char*, 3> kPlaceholders = {"{question}", "{answer_a}", "{answer_b}"};

int32_t letter_id(const Tokenizer& tok, const char* letter) {
  const auto ids = tok.encode(letter, Specials::AsText);
  if (ids.size() != 1)
    fail("the judge's tokenizer encodes \"{}\" as {} tokens; the verdict needs it as one token", letter, ids.size());
  return static_cast<int32_t>(ids[0]);
}

}  // namespace

const char* const kDefaultJudgeTemplate =
    "Which of the two answers to the question below is better: more helpful, more correct and clearer? "
    "Reply with one letter: A or B.\n\n"
    "[Question]\n{question}\n\n"
    "[Answer A]\n{answer_a}\n\n"
    "[Answer B]\n{answer_b}";

void check_judge_template(const std::string& tmpl, const std::string& where) {
  for (const char* p : kPlaceholders)
    if (tmpl.find(p) == std::string::npos) fail("{}: the judge template has no {} placeholder (it needs {{question}}, {{answer_a}} and {{answer_b}})", where, p);
}

std::string load_judge_template(const std::string& path) {
  if (path.empty()) return kDefaultJudgeTemplate;
  std::string t = read_file(path);
  check_judge_template(t, path);
  return t;
}

std::string fill_judge_template(const std::string& tmpl, const std::string& question, const std::string& answer_a,
                                const std::string& answer_b) {
  const std::array<const std::string*, 3> values = {&question, &answer_a, &answer_b};
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    bool hit = false;
    if (tmpl[i] == '{')
      for (size_t k = 0; k < kPlaceholders.size(); ++k)
        if (tmpl.compare(i, std::char_traits<char>::length(kPlaceholders[k]), kPlaceholders[k]) == 0) {
          out += *values[k];
          i += std::char_traits<char>::length(kPlaceholders[k]);
          hit = true;
          break;
        }
    if (!hit) out += tmpl[i++];
  }
  return out;
}

Outcome judge_outcome(double margin_ab, double margin_ba) {
  if (margin_ab > 0 && margin_ba < 0) return Outcome::Win;
  if (margin_ab < 0 && margin_ba > 0) return Outcome::Loss;
  return Outcome::Tie;
}

std::vector<JudgeVerdict> judge_pairs(const InferenceModel& judge, const std::string& tmpl,
                                      const std::vector<JudgePair>& pairs, int slots, int64_t ctx,
                                      const std::function<void(int64_t)>& progress) {
  const int64_t max = judge.config().max_position_embeddings;
  if (ctx > max) fail("--ctx {} exceeds the judge's max_position_embeddings {}", ctx, max);
  if (ctx <= 0) ctx = std::min<int64_t>(max, 2048);
  const int32_t a = letter_id(*judge.tokenizer, "A"), b = letter_id(*judge.tokenizer, "B");
  std::vector<McRequest> reqs;
  reqs.reserve(2 * pairs.size());
  for (size_t p = 0; p < pairs.size(); ++p)
    for (int order = 0; order < 2; ++order) {
      const JudgePair& j = pairs[p];
      const std::vector<ChatMessage> msgs = {
          {"user", order == 0 ? fill_judge_template(tmpl, j.question, j.answer_a, j.answer_b)
                              : fill_judge_template(tmpl, j.question, j.answer_b, j.answer_a)}};
      McRequest r;
      r.context = encode_chat_prompt(judge, msgs);
      if (static_cast<int64_t>(r.context.size()) >= ctx)
        fail("the judge prompt of pair {} has {} tokens; the judge's context is {} (shorten --max-tokens or raise --ctx)", p,
             r.context.size(), ctx);
      r.choices = {{a}, {b}};
      r.choice_bytes = {1, 1};
      r.choice_chars = {1, 1};
      reqs.push_back(std::move(r));
    }
  Engine engine(judge.weights, std::max(slots, 2), ctx);
  const std::vector<McResult> res = score_mc(engine, reqs, [&](int64_t done) {
    if (progress) progress(done / 2);
  });
  std::vector<JudgeVerdict> out(pairs.size());
  for (size_t p = 0; p < pairs.size(); ++p) {
    JudgeVerdict& v = out[p];
    v.margin_ab = res[2 * p].loglik[0] - res[2 * p].loglik[1];
    v.margin_ba = res[2 * p + 1].loglik[0] - res[2 * p + 1].loglik[1];
    v.outcome = judge_outcome(v.margin_ab, v.margin_ba);
  }
  return out;
}

}  // namespace baimo::eval
