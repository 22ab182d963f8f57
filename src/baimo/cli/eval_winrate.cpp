// baimo eval winrate --model-a A --model-b B --prompts FILE [--lora-a DIR] [--lora-b DIR]
//                    (--rm RM [--tie-margin X] | --judge MODEL [--judge-template FILE])
//                    [--max-tokens N] [--temperature T] [--limit N] [--seed S] [--batch B] [--ctx N]
//                    [--out results.json] [--log-samples FILE] [--threads N]
// Both models answer the same prompts (eval/chat_prompts.h: prompt / messages records, or the prompts
// of a preference or SFT file) through their chat templates on the batched engine
// (eval/chat_answers.h; greedy unless --temperature > 0), one model loaded at a time. Then per prompt:
// - --rm: a reward model (eval/reward_scores.h) scores prompt + answer for each side; Win when
//   r_a > r_b + tie_margin, Loss when r_b > r_a + tie_margin, else Tie;
// - --judge: a causal LM compares the two answers by its next-token log-probabilities of "A" and "B"
//   in both orders (eval/judge.h); inconsistent verdicts are ties.
// Identical answers are a Tie without scoring (a model never beats itself). Prints a table (wins,
// ties, losses, win rate = (wins + ties/2) / n with the 95% Wilson score interval, eval/winrate_stats.h;
// mean answer tokens / characters and the share of answers that ended their turn) and writes the
// results JSON with every answer (--out, atomically) and one JSON line per prompt (--log-samples).
#include "baimo/cli/eval_winrate.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "baimo/cli/threads_flag.h"
#include "baimo/eval/chat_answers.h"
#include "baimo/eval/chat_prompts.h"
#include "baimo/eval/judge.h"
#include "baimo/eval/report.h"
#include "baimo/eval/reward_scores.h"
#include "baimo/eval/winrate_stats.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/output_path.h"
#include "baimo/util/progress.h"

namespace baimo::cli {
namespace {

struct WinrateArgs {
  std::string model_a, model_b, lora_a, lora_b, prompts, rm, judge, judge_template, out, log_samples, dtype;
  int64_t limit = 0, ctx = 0;
  int max_tokens = 128, batch = 8, threads = 0;
  float temperature = 0;
  double tie_margin = 0;
  uint64_t seed = 1234;
};

struct SideStats {
  double mean_tokens = 0, mean_chars = 0, ended_turn = 0;
};

int64_t chars_of(const std::string& s) {
  int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

SideStats side_stats(const std::vector<eval::ChatAnswer>& v) {
  SideStats s;
  for (const auto& a : v) {
    s.mean_tokens += static_cast<double>(a.tokens);
    s.mean_chars += static_cast<double>(chars_of(a.text));
    s.ended_turn += a.ended_turn;
  }
  const double n = static_cast<double>(std::max<size_t>(1, v.size()));
  return {s.mean_tokens / n, s.mean_chars / n, s.ended_turn / n};
}

std::vector<eval::ChatAnswer> answer(const std::string& path, const std::string& lora, const WinrateArgs& a,
                                     const std::vector<eval::ChatPrompt>& prompts,
                                     const std::vector<std::vector<ChatMessage>>& convs, const char* side) {
  const InferenceModel m = load_inference_model(path, a.dtype, "", lora);
  const int64_t max = m.config().max_position_embeddings;
  const int64_t ctx = a.ctx > 0 ? std::min(a.ctx, max) : std::min<int64_t>(max, 2048);
  for (size_t i = 0; i < convs.size(); ++i)
    if (const size_t len = encode_chat_prompt(m, convs[i]).size(); static_cast<int64_t>(len) >= ctx)
      fail("{}: the prompt is {} tokens in model {}'s chat template; its context is {} (leave the prompt out{})",
           prompts[i].where, len, side, ctx, ctx < max ? " or raise --ctx" : "");
  eval::ChatAnswerOptions o;
  o.slots = a.batch;
  o.ctx = a.ctx;
  o.max_tokens = a.max_tokens;
  o.temperature = a.temperature;
  o.seed = a.seed;
  o.threads = a.threads;
  Progress bar(std::string("answers ") + side, convs.size(), "prompts");
  auto out = eval::answer_chats(m, convs, o, [&](int64_t done) { bar.set(static_cast<uint64_t>(done)); });
  bar.finish();
  return out;
}

void run(const WinrateArgs& a) {
  if (a.rm.empty() == a.judge.empty()) fail("give one scorer: --rm REWARD_MODEL or --judge MODEL");
  if (!a.judge_template.empty() && a.judge.empty()) fail("--judge-template needs --judge");
  if (!a.out.empty()) prepare_output_file(a.out);
  apply_threads(a.threads);
  // Check the scorer's kind before spending time on answers.
  if (!a.rm.empty() && open_model(a.rm).is_dir()) require_reward_model(load_model_dir_config(a.rm), a.rm);
  if (!a.judge.empty() && open_model(a.judge).is_dir()) require_causal_lm(load_model_dir_config(a.judge), a.judge);
  const std::string tmpl = a.judge.empty() ? "" : eval::load_judge_template(a.judge_template);
  const std::vector<eval::ChatPrompt> prompts = eval::read_chat_prompts(a.prompts, static_cast<size_t>(a.limit));
  std::vector<std::vector<ChatMessage>> convs;
  for (const auto& p : prompts) convs.push_back(p.messages);
  const auto ans_a = answer(a.model_a, a.lora_a, a, prompts, convs, "a");
  const auto ans_b = answer(a.model_b, a.lora_b, a, prompts, convs, "b");
  const size_t n = prompts.size();
  std::vector<size_t> differ;  // prompts whose answers differ: the ones to score
  for (size_t i = 0; i < n; ++i)
    if (ans_a[i].text != ans_b[i].text) differ.push_back(i);
  std::vector<eval::Outcome> outcomes(n, eval::Outcome::Tie);
  std::vector<nlohmann::json> scores(n, nlohmann::json::object());
  nlohmann::json scorer;
  if (!a.rm.empty()) {
    const RewardScorer rm = load_reward_scorer(a.rm);
    std::vector<std::vector<ChatMessage>> scored;  // a_i, b_i next to each other (same batch)
    const int64_t rm_ctx = rm.config().max_position_embeddings;
    for (size_t i : differ)
      for (const auto* ans : {&ans_a[i], &ans_b[i]}) {
        scored.push_back(convs[i]);
        scored.back().push_back({"assistant", ans->text});
        if (const size_t len = encode_conversation(rm, scored.back()).size(); static_cast<int64_t>(len) > rm_ctx)
          fail("{}: the prompt with model {}'s answer is {} tokens, longer than the reward model's context {} "
               "(lower --max-tokens or leave the prompt out)", prompts[i].where, ans == &ans_a[i] ? "a" : "b", len, rm_ctx);
      }
    const std::vector<float> r = score_conversations(rm, scored, a.batch);
    for (size_t k = 0; k < differ.size(); ++k) {
      const size_t i = differ[k];
      const double ra = r[2 * k], rb = r[2 * k + 1];
      outcomes[i] = ra > rb + a.tie_margin ? eval::Outcome::Win : rb > ra + a.tie_margin ? eval::Outcome::Loss : eval::Outcome::Tie;
      scores[i] = {{"reward_a", ra}, {"reward_b", rb}};
    }
    scorer = {{"kind", "reward_model"}, {"path", a.rm}, {"tie_margin", a.tie_margin},
              {"chat_template", chat_template_name(rm.chat_template)}};
  } else {
    const InferenceModel judge = load_inference_model(a.judge, a.dtype, "", "");
    std::vector<eval::JudgePair> pairs;
    for (size_t i : differ) pairs.push_back({eval::question_text(convs[i]), ans_a[i].text, ans_b[i].text});
    Progress bar("judge", pairs.size(), "pairs");
    const auto v = eval::judge_pairs(judge, tmpl, pairs, a.batch, a.ctx, [&](int64_t d) { bar.set(static_cast<uint64_t>(d)); });
    bar.finish();
    for (size_t k = 0; k < differ.size(); ++k) {
      outcomes[differ[k]] = v[k].outcome;
      scores[differ[k]] = {{"judge_margin_ab", v[k].margin_ab}, {"judge_margin_ba", v[k].margin_ba}};
    }
    scorer = {{"kind", "judge"}, {"path", a.judge}, {"template", a.judge_template.empty() ? "default" : a.judge_template},
              {"chat_template", chat_template_name(judge.chat_template)}};
  }
  const eval::WinTally t = eval::tally(outcomes);
  const double rate = t.win_rate();
  const eval::Interval ci = eval::wilson_interval(rate, t.n());
  const SideStats sa = side_stats(ans_a), sb = side_stats(ans_b);

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> log(nullptr, &std::fclose);
  if (!a.log_samples.empty()) {
    log.reset(std::fopen(a.log_samples.c_str(), "wb"));
    if (!log) fail("{}: cannot create the samples file", a.log_samples);
  }
  nlohmann::json samples = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i) {
    nlohmann::json msgs = nlohmann::json::array();
    for (const ChatMessage& m : convs[i]) msgs.push_back({{"role", m.role}, {"content", m.content}});
    nlohmann::json s = {{"index", i},
                        {"where", prompts[i].where},
                        {"messages", msgs},
                        {"answer_a", ans_a[i].text},
                        {"answer_b", ans_b[i].text},
                        {"tokens_a", ans_a[i].tokens},
                        {"tokens_b", ans_b[i].tokens},
                        {"ended_turn_a", ans_a[i].ended_turn},
                        {"ended_turn_b", ans_b[i].ended_turn},
                        {"identical", ans_a[i].text == ans_b[i].text},
                        {"outcome", eval::outcome_name(outcomes[i])}};
    s.update(scores[i]);
    if (log) std::fputs(eval::json_line(s).c_str(), log.get());
    samples.push_back(std::move(s));
  }
  auto side_json = [](const SideStats& s) {
    return nlohmann::json{{"mean_tokens", s.mean_tokens}, {"mean_chars", s.mean_chars}, {"ended_turn_rate", s.ended_turn}};
  };
  std::printf("model a     %s%s\nmodel b     %s%s\nscorer      %s %s\nprompts     %s (%zu)\n", a.model_a.c_str(),
              a.lora_a.empty() ? "" : (" + LoRA " + a.lora_a).c_str(), a.model_b.c_str(),
              a.lora_b.empty() ? "" : (" + LoRA " + a.lora_b).c_str(), a.rm.empty() ? "judge" : "reward model",
              a.rm.empty() ? a.judge.c_str() : a.rm.c_str(), a.prompts.c_str(), n);
  std::printf("wins        %lld\nties        %lld (%zu identical answers)\nlosses      %lld\n",
              static_cast<long long>(t.wins), static_cast<long long>(t.ties), n - differ.size(),
              static_cast<long long>(t.losses));
  std::printf("win rate    %.4f  95%% CI [%.4f, %.4f] (Wilson score interval, ties as half wins)\n", rate, ci.low, ci.high);
  std::printf("answers     mean tokens  mean chars  ended turn\n");
  std::printf("  a         %11.2f  %10.2f  %10.4f\n  b         %11.2f  %10.2f  %10.4f\n", sa.mean_tokens, sa.mean_chars,
              sa.ended_turn, sb.mean_tokens, sb.mean_chars, sb.ended_turn);
  std::fflush(stdout);
  if (!a.out.empty()) {
    nlohmann::json j = {
        {"model_a", a.model_a}, {"lora_a", a.lora_a}, {"model_b", a.model_b}, {"lora_b", a.lora_b}, {"scorer", scorer},
        {"settings",
         {{"prompts", a.prompts}, {"limit", a.limit}, {"max_tokens", a.max_tokens}, {"temperature", a.temperature},
          {"seed", a.seed}, {"batch", a.batch}, {"ctx", a.ctx}, {"dtype", a.dtype}}},
        {"n", t.n()}, {"wins", t.wins}, {"ties", t.ties}, {"losses", t.losses},
        {"identical_answers", n - differ.size()}, {"win_rate", rate},
        {"ci95", {ci.low, ci.high}}, {"interval", "wilson score, ties as half wins"},
        {"answers", {{"a", side_json(sa)}, {"b", side_json(sb)}}}, {"samples", samples}};
    eval::write_results(a.out, j);
  }
}

}  // namespace

void add_eval_winrate(CLI::App& ev) {
  auto a = std::make_shared<WinrateArgs>();
  auto* sub = ev.add_subcommand("winrate", "Two models answer the same prompts; a reward model or a judge model "
                                           "picks the better answer: win / tie / loss and the win rate");
  sub->add_option("--model-a", a->model_a, "Model A: directory or .gguf file")->required();
  sub->add_option("--model-b", a->model_b, "Model B: directory or .gguf file")->required();
  sub->add_option("--lora-a", a->lora_a, "PEFT LoRA adapter applied to model A at load");
  sub->add_option("--lora-b", a->lora_b, "PEFT LoRA adapter applied to model B at load");
  sub->add_option("--prompts", a->prompts,
                  "JSON / JSONL: {\"prompt\"} or {\"messages\"} records, or a preference or SFT file (its prompts)")
      ->required();
  sub->add_option("--rm", a->rm, "Reward-model directory that scores each (prompt, answer)");
  sub->add_option("--tie-margin", a->tie_margin, "--rm: a win needs r_a > r_b + margin")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--judge", a->judge, "Causal LM that compares the two answers (log-probs of \"A\" and \"B\")");
  sub->add_option("--judge-template", a->judge_template,
                  "Judge prompt file with {question}, {answer_a}, {answer_b} (default: built in)");
  sub->add_option("--max-tokens", a->max_tokens, "Tokens per answer at most")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--temperature", a->temperature, "0 = greedy answers; else sampled with --seed")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--limit", a->limit, "Only the first N prompts")->check(CLI::PositiveNumber);
  sub->add_option("--seed", a->seed, "Sampling seed (with --temperature > 0)")->capture_default_str();
  sub->add_option("--batch", a->batch, "Engine slots / reward-model batch")->capture_default_str()->check(CLI::Range(1, 256));
  sub->add_option("--ctx", a->ctx, "Context in tokens (default: the model's, at most 2048)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 24));
  sub->add_option("--dtype", a->dtype, "Convert the models' weights at load: f32, f16, bf16, q8_0, q4_0");
  sub->add_option("--out", a->out, "Write the results JSON (with every answer) here, atomically");
  sub->add_option("--log-samples", a->log_samples, "Write one JSON line per prompt here");
  add_threads_flag(sub, a->threads);
  sub->callback([a] { run(*a); });
}

}  // namespace baimo::cli
