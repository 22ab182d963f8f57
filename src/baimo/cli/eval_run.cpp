// baimo eval run (--model M | --api URL [--api-model NAME] [--api-key KEY]) --tasks a,b,... [--limit N] [--seed S] [--batch B] [--shots K]
//                [--out results.json] [--report FILE] [--log-samples FILE] [--raw] [--max-tokens N]
//                [--samples N --temperature T] [--repetition-penalty R] [--ctx N] [--dtype T] [--lora DIR] [--chat-template NAME]
// Each task is a built-in suite (eval/builtin_tasks.h) or a task file (eval/gen_reader.h: .csv / .jsonl
// multiple choice, or .jsonl generation tasks with "prompt" and "answer"; named after the file). Prints a table on stdout,
// a progress line with ETA per task on stderr; writes the results JSON atomically (--out), appends
// one JSONL line to --report, and one JSONL record per example to --log-samples.
// --api scores a served model over the OpenAI API instead (eval/api_backend.h; --batch requests in
// flight); it excludes the options that load a model here (--model, --lora, --dtype, --ctx,
// --chat-template: the server's apply). The results' "model" is then the served model's name and
// settings.api the URL.
#include "baimo/cli/eval_run.h"
#include "baimo/cli/threads_flag.h"

#include <cstdio>
#include <memory>
#include <optional>

#include "baimo/eval/api_backend.h"
#include "baimo/eval/builtin_tasks.h"
#include "baimo/eval/gen_reader.h"
#include "baimo/eval/local_backend.h"
#include "baimo/eval/report.h"
#include "baimo/eval/run_task.h"
#include "baimo/infer/inference_model.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/output_path.h"
#include "baimo/util/progress.h"

namespace baimo::cli {
namespace {

struct RunArgs {
  std::string model, tasks, out, report, log_samples, dtype, chat_template, lora, api, api_model, api_key;
  int test_size = 200;
  eval::EvalSettings s;
};

std::vector<std::string> split_tasks(const std::string& s) {
  std::vector<std::string> out;
  size_t a = 0;
  while (a <= s.size()) {
    size_t b = s.find(',', a);
    if (b == std::string::npos) b = s.size();
    if (b > a) out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  if (out.empty()) fail("--tasks is empty; name built-in tasks or .csv / .jsonl files, comma-separated");
  return out;
}

eval::Task load_task(const std::string& spec, const RunArgs& a) {
  if (eval::is_builtin_task(spec)) return eval::make_builtin_task(spec, a.s.seed, a.test_size);
  if (spec.ends_with(".csv") || spec.ends_with(".jsonl") || spec.ends_with(".json")) return eval::read_task_file(spec);
  return eval::make_builtin_task(spec, a.s.seed, a.test_size);  // the error lists the names
}

void run(const RunArgs& a) {
  apply_threads(a.s.threads);
  std::vector<eval::Task> tasks;
  for (auto& spec : split_tasks(a.tasks)) {
    tasks.push_back(load_task(spec, a));
    for (size_t i = 0; i + 1 < tasks.size(); ++i)
      if (tasks[i].name == tasks.back().name) fail("--tasks names '{}' twice (task names are file names without the extension)", tasks[i].name);
  }
  std::optional<InferenceModel> m;
  std::unique_ptr<eval::EvalBackend> backend;
  std::string model_name = a.model, template_name;
  if (!a.api.empty()) {
    eval::ApiOptions o;
    o.url = a.api;
    o.model = a.api_model;
    o.api_key = a.api_key;
    o.concurrency = a.s.batch;
    auto api = std::make_unique<eval::ApiBackend>(o);
    model_name = api->model();
    template_name = "server";
    backend = std::move(api);
  } else {
    if (a.model.empty()) fail("name the model: --model DIR|FILE.gguf, or --api URL for a served one");
    m.emplace(load_inference_model(a.model, a.dtype, a.chat_template, a.lora));
    template_name = chat_template_name(m->chat_template);
    backend = std::make_unique<eval::LocalBackend>(*m, a.s.batch, a.s.ctx, a.s.threads);
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> samples(nullptr, &std::fclose);
  if (!a.log_samples.empty()) {
    prepare_output_file(a.log_samples);
    samples.reset(std::fopen(a.log_samples.c_str(), "wb"));
    if (!samples) fail("{}: cannot create the samples file", a.log_samples);
  }
  eval::SampleLog log;
  if (samples) log = [&](const nlohmann::json& j) { std::fputs(eval::json_line(j).c_str(), samples.get()); };
  std::vector<eval::TaskResult> results;
  for (const eval::Task& t : tasks) {
    const int64_t n = a.s.limit > 0 ? std::min<int64_t>(static_cast<int64_t>(t.size()), a.s.limit)
                                    : static_cast<int64_t>(t.size());
    Progress bar(t.name, static_cast<uint64_t>(n), "ex");
    results.push_back(eval::run_task(*backend, t, a.s, log, [&](int64_t done, int64_t) { bar.set(static_cast<uint64_t>(done)); }));
    bar.finish();
  }
  std::fputs(eval::format_table(results).c_str(), stdout);
  std::fflush(stdout);
  nlohmann::json settings = {{"tasks", a.tasks},        {"limit", a.s.limit},         {"seed", a.s.seed},
                             {"batch", a.s.batch},      {"shots", a.s.shots},         {"raw", a.s.raw_prompts},
                             {"max_tokens", a.s.max_tokens}, {"samples", a.s.samples}, {"temperature", a.s.temperature},
                             {"repetition_penalty", a.s.repetition_penalty},
                             {"dtype", a.dtype},        {"lora", a.lora},        {"chat_template", template_name}};
  if (!a.api.empty()) settings["api"] = a.api;
  nlohmann::json j = eval::results_json(model_name, settings, results);
  if (!a.out.empty()) eval::write_results(a.out, j);
  if (!a.report.empty()) eval::append_report(a.report, j);
}

}  // namespace

void add_eval_run(CLI::App& ev) {
  auto a = std::make_shared<RunArgs>();
  auto* sub = ev.add_subcommand("run", "Score a model on tasks: multiple choice (log-likelihood) and generation");
  auto* model = sub->add_option("--model", a->model, "Model directory or .gguf file");
  auto* api = sub->add_option("--api", a->api, "Score a served model instead: the OpenAI API's base URL, e.g. http://127.0.0.1:8080/v1");
  model->excludes(api);
  sub->add_option("--api-model", a->api_model, "With --api: the model name to send (default: the first the server lists)")
      ->needs(api);
  sub->add_option("--api-key", a->api_key, "With --api: the server's API key (default: $OPENAI_API_KEY)")
      ->envname("OPENAI_API_KEY");
  std::string names;
  for (auto& n : eval::builtin_task_names()) names += (names.empty() ? "" : ", ") + n;
  sub->add_option("--tasks", a->tasks, "Comma-separated: built-in tasks (" + names + ") or task files (.csv / .jsonl)")
      ->required();
  sub->add_option("--limit", a->s.limit, "Score only the first N test examples of each task")
      ->check(CLI::PositiveNumber);
  sub->add_option("--seed", a->s.seed, "Seed of the built-in suites, the few-shot choice and sampling (default 1234)");
  sub->add_option("--batch", a->s.batch, "Engine slots: choices / sequences run together (--api: requests in flight)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  sub->add_option("--shots", a->s.shots, "Few-shot examples before each question, from the dev split")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  sub->add_option("--out", a->out, "Write the results JSON here (atomically)");
  sub->add_option("--report", a->report, "Append one JSON line with the results to this JSONL file");
  sub->add_option("--log-samples", a->log_samples, "Write one JSON line per scored example here");
  sub->add_flag("--raw", a->s.raw_prompts, "Generation prompts as plain 'Q: ...\\nA:' text (base models), not the chat template");
  sub->add_option("--max-tokens", a->s.max_tokens, "Generation: tokens per answer at most")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--samples", a->s.samples, "Generation: answers per prompt; > 1 samples with --temperature and reports pass@k")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  sub->add_option("--temperature", a->s.temperature, "Sampling temperature when --samples > 1 (default 0.8)");
  sub->add_option("--repetition-penalty", a->s.repetition_penalty,
                  "Generation: CTRL-style penalty on tokens already in the prompt or answer (1 = off; llama.cpp's "
                  "repeat_penalty, vLLM's repetition_penalty)")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 10.0f));
  sub->add_option("--ctx", a->s.ctx, "Context in tokens (default: the model's, at most 2048)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 24))
      ->excludes(api);
  sub->add_option("--test-size", a->test_size, "Built-in suites: test examples generated")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--dtype", a->dtype, "Convert a model directory's weights at load: f32, f16, bf16, q8_0, q4_0")
      ->excludes(api);
  sub->add_option("--lora", a->lora, "PEFT LoRA adapter directory applied to the weights at load")->excludes(api);
  add_threads_flag(sub, a->s.threads);
  sub->add_option("--chat-template", a->chat_template, "chatml | llama3 | plain (default: detected from the model)")
      ->excludes(api);
  sub->callback([a] { run(*a); });
}

}  // namespace baimo::cli
