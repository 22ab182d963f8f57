#include "baimo/eval/run_task.h"

#include <algorithm>
#include <chrono>

#include "baimo/eval/batch_generate.h"
#include "baimo/eval/extract.h"
#include "baimo/eval/mc_score.h"
#include "baimo/eval/prompts.h"
#include "baimo/eval/stats.h"
#include "baimo/infer/engine.h"
#include "baimo/util/error.h"

namespace baimo::eval {
namespace {

Metric metric(std::string name, const std::vector<double>& v) {
  MeanStderr r = mean_stderr(v);
  return {std::move(name), r.mean, r.stderr_, r.n};
}

int64_t context_of(const InferenceModel& m, const EvalSettings& s) {
  const int64_t max = m.config().max_position_embeddings;
  if (s.ctx > max) fail("--ctx {} exceeds the model's max_position_embeddings {}", s.ctx, max);
  return s.ctx > 0 ? s.ctx : std::min<int64_t>(max, 2048);
}

TaskResult run_mc(const InferenceModel& m, const Task& t, size_t n, const EvalSettings& s, const SampleLog& log,
                  const ProgressFn& progress) {
  std::vector<McRequest> reqs;
  size_t most = 1;
  for (size_t i = 0; i < n; ++i) {
    const McExample& e = t.mc_test[i];
    reqs.push_back(encode_mc(*m.tokenizer, mc_context(t, i, s.shots, s.seed), e.choices));
    most = std::max(most, e.choices.size());
  }
  Engine engine(m.weights, std::max(s.batch, static_cast<int>(most)), context_of(m, s));
  std::vector<McResult> res = score_mc(engine, reqs, [&](int64_t done) {
    if (progress) progress(done, static_cast<int64_t>(n));
  });
  std::vector<double> acc, acc_norm, acc_norm_chars;
  for (size_t i = 0; i < n; ++i) {
    const int gold = t.mc_test[i].gold;
    acc.push_back(res[i].pred == gold);
    acc_norm.push_back(res[i].pred_norm == gold);
    acc_norm_chars.push_back(res[i].pred_norm_chars == gold);
    if (log) {
      nlohmann::json j = {{"task", t.name},           {"index", i},
                          {"gold", gold},             {"pred", res[i].pred},
                          {"pred_norm", res[i].pred_norm}, {"pred_norm_chars", res[i].pred_norm_chars}, {"loglik", res[i].loglik},
                          {"choice_bytes", reqs[i].choice_bytes}, {"choice_chars", reqs[i].choice_chars}, {"context_ids", reqs[i].context}};
      nlohmann::json ids = nlohmann::json::array();
      for (auto& c : reqs[i].choices) ids.push_back(c);
      j["choice_ids"] = ids;
      log(j);
    }
  }
  TaskResult r;
  r.kind = "multiple_choice";
  r.metrics = {metric("acc", acc), metric("acc_norm", acc_norm), metric("acc_norm_chars", acc_norm_chars)};
  return r;
}

TaskResult run_gen(const InferenceModel& m, const Task& t, size_t n, const EvalSettings& s, const SampleLog& log,
                   const ProgressFn& progress) {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::string> texts;
  for (size_t i = 0; i < n; ++i) {
    std::string p = s.raw_prompts ? gen_raw_prompt(t, i, s.shots, s.seed)
                                  : render_chat(m.chat_template, gen_messages(t, i, s.shots, s.seed), true);
    prompts.push_back(encode_prompt(m, p));
    texts.push_back(std::move(p));
  }
  BatchGenerateOptions o;
  o.slots = s.batch;
  o.threads = s.threads;
  o.ctx = context_of(m, s);
  o.max_tokens = s.max_tokens;
  o.samples = s.samples;
  o.temperature = s.samples > 1 ? s.temperature : 0.0f;
  o.seed = s.seed;
  o.eos_ids = m.eos_ids;
  if (s.raw_prompts) o.stop = {"\n"};
  else o.stop = {chat_end_of_turn(m.chat_template)};
  auto out = batch_generate(m.weights, m.tokenizer, prompts, o, [&](int64_t done) {
    if (progress) progress(done, static_cast<int64_t>(n));
  });
  // A chat model's answer should end with the template's end-of-turn token (not the base model's
  // end-of-document EOS): eot_rate counts those.
  std::optional<uint32_t> eot;
  if (!s.raw_prompts && m.chat_template != ChatTemplateKind::Plain)
    eot = m.tokenizer->token_to_id(chat_end_of_turn(m.chat_template));
  std::vector<double> em, no_answer, eos, eot_stops, len;
  std::vector<int64_t> ks;  // pass@k for k = 1, 2, 4, ... <= samples
  for (int64_t k = 1; s.samples > 1 && k <= s.samples; k *= 2) ks.push_back(k);
  std::vector<std::vector<double>> pass(ks.size());
  for (size_t i = 0; i < n; ++i) {
    const GenExample& e = t.gen_test[i];
    int64_t correct = 0;
    nlohmann::json samples = nlohmann::json::array();
    AnswerCheck first;
    for (size_t k = 0; k < out[i].size(); ++k) {
      const GeneratedSample& g = out[i][k];
      AnswerCheck c = check_answer(e, g.text);
      if (k == 0) first = c;
      correct += c.correct;
      eos.push_back(g.stopped);
      const bool ended_turn = eot && g.stopped && g.last_id == static_cast<int32_t>(*eot);
      eot_stops.push_back(ended_turn);
      len.push_back(static_cast<double>(g.tokens));
      samples.push_back({{"text", g.text}, {"extracted", c.extracted ? nlohmann::json(c.answer) : nlohmann::json()},
                         {"correct", c.correct}, {"tokens", g.tokens}, {"stopped", g.stopped},
                         {"end_of_turn", ended_turn}});
    }
    em.push_back(first.correct);
    no_answer.push_back(!first.extracted);
    for (size_t q = 0; q < ks.size(); ++q) pass[q].push_back(pass_at_k(s.samples, correct, ks[q]));
    if (log) log({{"task", t.name}, {"index", i}, {"prompt", texts[i]}, {"answer", e.answer}, {"samples", samples}});
  }
  TaskResult r;
  r.kind = "generation";
  r.metrics = {metric("exact_match", em), metric("no_answer", no_answer), metric("eos_rate", eos)};
  if (eot) r.metrics.push_back(metric("eot_rate", eot_stops));
  r.metrics.push_back(metric("mean_tokens", len));
  for (size_t q = 0; q < ks.size(); ++q) r.metrics.push_back(metric("pass@" + std::to_string(ks[q]), pass[q]));
  return r;
}

}  // namespace

TaskResult run_task(const InferenceModel& m, const Task& task, const EvalSettings& s, const SampleLog& log,
                    const ProgressFn& progress) {
  if (task.size() == 0) fail("task {} has no test examples", task.name);
  const size_t n = s.limit > 0 ? std::min<size_t>(task.size(), static_cast<size_t>(s.limit)) : task.size();
  const auto t0 = std::chrono::steady_clock::now();
  TaskResult r = task.generation ? run_gen(m, task, n, s, log, progress) : run_mc(m, task, n, s, log, progress);
  r.task = task.name;
  r.n = static_cast<int64_t>(n);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace baimo::eval
