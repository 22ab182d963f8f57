// baimo data arithmetic --out DIR [--train 2000] [--held-out 200] [--rl 0] [--rejected one] [--seed 1] [--digits 2]
//   [--second-digits 0] [--ops +,-] [--zh-fraction 0.25]
// A verifiable task baimo generates itself (data/arithmetic_task.h): arithmetic problems split into
// train and held-out by the problem itself. Writes into DIR, each file atomically (temp + fsync +
// rename), one JSON object per line, UTF-8:
//   sft_train.jsonl       {"messages": [{"role": "user", "content": PROMPT},
//                                       {"role": "assistant", "content": ANSWER}]}   (`baimo sft --data`)
//   prefs_train.jsonl     {"prompt": [{"role": "user", "content": PROMPT}], "chosen": ANSWER,
//   prefs_held_out.jsonl   "rejected": WRONG}   (reward model / DPO pairs; held-out: the held-out problems;
//                         with --rejected all, prefs_train.jsonl holds one pair per wrong answer of each
//                         train problem, in wrong_answers' order; the held-out file keeps one per problem)
//   eval_held_out.jsonl   {"prompt": PROMPT, "answer": ANSWER, "extract": "exact"}   (`baimo eval run
//                         --tasks`: exact match of the whole greedy answer, whitespace trimmed; also
//                         `baimo grpo --eval-data`)
//   rl_train.jsonl        {"prompt": PROMPT, "answer": ANSWER}   (`baimo grpo --data`: the --rl problems,
//                         which neither the train nor the held-out files hold; with --rl 0, the train problems)
// The train files hold the same train problems in the same order, whatever --rl is. Prints a one-line summary on
// stderr and DIR on stdout. Bad flags (an unknown op, digits out of 1..6, more problems than the
// digits and ops allow) are errors naming the flag.
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "baimo/cli/command.h"
#include "baimo/cli/data_command.h"
#include "baimo/data/arithmetic_task.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

struct ArithmeticArgs {
  std::string out;
  size_t train = 2000, held_out = 200, rl = 0;
  std::string rejected = "one";
  std::vector<std::string> ops{"+", "-"};
  ArithmeticOptions opts;
};

ojson user_turn(const ArithmeticProblem& p) { return {{"role", "user"}, {"content", p.prompt}}; }

using RecordFn = ojson (*)(const ArithmeticProblem&);

ojson sft_record(const ArithmeticProblem& p) {
  return {{"messages", {user_turn(p), {{"role", "assistant"}, {"content", p.answer}}}}};
}
ojson pair_record(const ArithmeticProblem& p, const std::string& rejected) {
  return {{"prompt", {user_turn(p)}}, {"chosen", p.answer}, {"rejected", rejected}};
}
ojson pref_record(const ArithmeticProblem& p) { return pair_record(p, p.rejected); }
ojson rl_record(const ArithmeticProblem& p) { return {{"prompt", p.prompt}, {"answer", p.answer}}; }
ojson eval_record(const ArithmeticProblem& p) {
  return {{"prompt", p.prompt}, {"answer", p.answer}, {"extract", "exact"}};
}

void write_line(std::FILE* f, const ojson& record) {
  const std::string line = record.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), f);
}

void write_jsonl(const fs::path& path, const std::vector<ArithmeticProblem>& problems, RecordFn record) {
  write_file_atomic(path.string(), [&](std::FILE* f) {
    for (const auto& p : problems) write_line(f, record(p));
  });
}

// One pair per wrong answer of each problem (--rejected all).
void write_all_pairs(const fs::path& path, const std::vector<ArithmeticProblem>& problems) {
  write_file_atomic(path.string(), [&](std::FILE* f) {
    for (const auto& p : problems)
      for (const auto& wrong : wrong_answers(p.a, p.op, p.b)) write_line(f, pair_record(p, wrong));
  });
}

std::string parse_ops(const std::vector<std::string>& ops) {
  std::string s;
  for (const auto& o : ops) {
    if (o.size() != 1) fail("--ops: '{}' is not an op (expected a comma-separated list of +, - and *)", o);
    s += o;
  }
  return s;
}

void run_arithmetic(ArithmeticArgs a) {
  a.opts.ops = parse_ops(a.ops);
  const ArithmeticSplit s = generate_arithmetic(a.opts, a.train, a.held_out, a.rl);
  prepare_output_dir(a.out);
  const fs::path dir(a.out);
  write_jsonl(dir / "sft_train.jsonl", s.train, sft_record);
  if (a.rejected == "all")
    write_all_pairs(dir / "prefs_train.jsonl", s.train);
  else
    write_jsonl(dir / "prefs_train.jsonl", s.train, pref_record);
  write_jsonl(dir / "prefs_held_out.jsonl", s.held_out, pref_record);
  write_jsonl(dir / "eval_held_out.jsonl", s.held_out, eval_record);
  write_jsonl(dir / "rl_train.jsonl", a.rl ? s.rl : s.train, rl_record);
  fsync_dir(a.out);
  std::fprintf(stderr,
               "arithmetic: %zu train + %zu held-out + %zu RL problems (digits %d/%d, ops %s, seed %llu, zh %.2f; %llu distinct "
               "in the space) -> %s: sft_train.jsonl prefs_train.jsonl prefs_held_out.jsonl eval_held_out.jsonl "
               "rl_train.jsonl\n",
               s.train.size(), s.held_out.size(), s.rl.size(), a.opts.digits, a.opts.second_digits, fmt::format("{}", fmt::join(a.ops, ",")).c_str(),
               static_cast<unsigned long long>(a.opts.seed), a.opts.zh_fraction,
               static_cast<unsigned long long>(arithmetic_space_size(a.opts)), a.out.c_str());
  std::printf("%s\n", a.out.c_str());
}

}  // namespace

BAIMO_COMMAND(31, [](CLI::App& root) {
  auto* sub = data_command(root)->add_subcommand(
      "arithmetic",
      "Generate a verifiable arithmetic task: SFT conversations, preference pairs (chosen = the right "
      "answer, rejected = a plausible wrong one: off by one or ten, a dropped carry, swapped digits, the "
      "wrong op) and a held-out exact-match eval file for `baimo eval run`. Train and held-out never share "
      "a problem; the same flags give the same bytes on every machine. rl_train.jsonl holds prompts with "
      "answers for `baimo grpo`: --rl N further problems that SFT never answers (the signal RL learns from), "
      "or with --rl 0 the train problems.");
  auto a = std::make_shared<ArithmeticArgs>();
  sub->add_option("--out", a->out,
                  "Output directory: sft_train.jsonl, prefs_train.jsonl, prefs_held_out.jsonl, eval_held_out.jsonl, "
                  "rl_train.jsonl")
      ->required();
  sub->add_option("--train", a->train, "Train problems")->capture_default_str()->check(CLI::Range(size_t{1}, size_t{100000000}));
  sub->add_option("--held-out", a->held_out, "Held-out problems")->capture_default_str()->check(CLI::Range(size_t{1}, size_t{100000000}));
  sub->add_option("--rl", a->rl,
                  "Problems for rl_train.jsonl that no other file holds (0: rl_train.jsonl holds the train problems)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{100000000}));
  sub->add_option("--rejected", a->rejected,
                  "Pairs per train problem in prefs_train.jsonl: one (a drawn wrong answer) or all (one pair per "
                  "plausible wrong answer: more for a reward model to learn from)")
      ->capture_default_str()
      ->check(CLI::IsMember({"one", "all"}));
  sub->add_option("--seed", a->opts.seed, "Seed of the problems, their phrasing and the wrong answers")->capture_default_str();
  sub->add_option("--digits", a->opts.digits, "Digits of the first operand at most, 1..6")
      ->capture_default_str()
      ->check(CLI::Range(1, 6));
  sub->add_option("--second-digits", a->opts.second_digits,
                  "Digits of the second operand at most (0: --digits for + and -, 1 for ×), 0..6")
      ->capture_default_str()
      ->check(CLI::Range(0, 6));
  sub->add_option("--ops", a->ops, "Operations, comma-separated: +,-,* (a - b has a >= b)")
      ->delimiter(',')
      ->capture_default_str()
      ->expected(1, -1);
  sub->add_option("--zh-fraction", a->opts.zh_fraction, "Share of prompts phrased in Chinese")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->callback([a] { run_arithmetic(*a); });
});

}  // namespace baimo::cli
