#include "baimo/eval/run_task.h"

#include <algorithm>
#include <chrono>

#include "baimo/eval/extract.h"
#include "baimo/eval/local_backend.h"
#include "baimo/eval/prompts.h"
#include "baimo/eval/stats.h"
#include "baimo/util/error.h"

namespace baimo::eval {
namespace {

Metric metric(std::string name, const std::vector<double>& v) {
  MeanStderr r = mean_stderr(v);
  return {std::move(name), r.mean, r.stderr_, r.n};
}

TaskResult run_mc(EvalBackend& b, const Task& t, size_t n, const EvalSettings& s, const SampleLog& log,
                  const ProgressFn& progress) {
  std::vector<McItem> items;
  for (size_t i = 0; i < n; ++i) items.push_back({mc_context(t, i, s.shots, s.seed), t.mc_test[i].choices});
  std::vector<McScored> res = b.score_mc(items, [&](int64_t done) {
    if (progress) progress(done, static_cast<int64_t>(n));
  });
  std::vector<double> acc, acc_norm, acc_norm_chars;
  for (size_t i = 0; i < n; ++i) {
    const int gold = t.mc_test[i].gold;
    const McResult& r = res[i].result;
    acc.push_back(r.pred == gold);
    acc_norm.push_back(r.pred_norm == gold);
    acc_norm_chars.push_back(r.pred_norm_chars == gold);
    if (log) {
      nlohmann::json j = {{"task", t.name},  {"index", i},
                          {"gold", gold},    {"pred", r.pred},
                          {"pred_norm", r.pred_norm}, {"pred_norm_chars", r.pred_norm_chars}, {"loglik", r.loglik}};
      j.update(res[i].log);
      log(j);
    }
  }
  TaskResult r;
  r.kind = "multiple_choice";
  r.metrics = {metric("acc", acc), metric("acc_norm", acc_norm), metric("acc_norm_chars", acc_norm_chars)};
  return r;
}

TaskResult run_gen(EvalBackend& b, const Task& t, size_t n, const EvalSettings& s, const SampleLog& log,
                   const ProgressFn& progress) {
  std::vector<GenPrompt> prompts;
  for (size_t i = 0; i < n; ++i) {
    GenPrompt p;
    p.raw = s.raw_prompts;
    if (p.raw) p.text = gen_raw_prompt(t, i, s.shots, s.seed);
    else p.messages = gen_messages(t, i, s.shots, s.seed);
    prompts.push_back(std::move(p));
  }
  GenSettings g;
  g.max_tokens = s.max_tokens;
  g.samples = s.samples;
  g.temperature = s.samples > 1 ? s.temperature : 0.0f;
  g.repetition_penalty = s.repetition_penalty;
  g.seed = s.seed;
  GenOutput gen = b.generate(prompts, g, [&](int64_t done) {
    if (progress) progress(done, static_cast<int64_t>(n));
  });
  const auto& out = gen.samples;
  const bool eot = b.end_of_turn_known(s.raw_prompts);
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
      const bool ended_turn = eot && g.end_of_turn;
      eot_stops.push_back(ended_turn);
      len.push_back(static_cast<double>(g.tokens));
      samples.push_back({{"text", g.text}, {"extracted", c.extracted ? nlohmann::json(c.answer) : nlohmann::json()},
                         {"correct", c.correct}, {"tokens", g.tokens}, {"stopped", g.stopped},
                         {"end_of_turn", ended_turn}});
    }
    em.push_back(first.correct);
    no_answer.push_back(!first.extracted);
    for (size_t q = 0; q < ks.size(); ++q) pass[q].push_back(pass_at_k(s.samples, correct, ks[q]));
    if (log) log({{"task", t.name}, {"index", i}, {"prompt", gen.prompt_log[i]}, {"answer", e.answer}, {"samples", samples}});
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
  LocalBackend b(m, s.batch, s.ctx, s.threads);
  return run_task(b, task, s, log, progress);
}

TaskResult run_task(EvalBackend& b, const Task& task, const EvalSettings& s, const SampleLog& log,
                    const ProgressFn& progress) {
  if (task.size() == 0) fail("task {} has no test examples", task.name);
  const size_t n = s.limit > 0 ? std::min<size_t>(task.size(), static_cast<size_t>(s.limit)) : task.size();
  const auto t0 = std::chrono::steady_clock::now();
  TaskResult r = task.generation ? run_gen(b, task, n, s, log, progress) : run_mc(b, task, n, s, log, progress);
  r.task = task.name;
  r.n = static_cast<int64_t>(n);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace baimo::eval
