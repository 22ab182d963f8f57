// baimo rm init  --model LM --out RM [--seed N] [--pad-id ID]
//     A causal LM directory -> a reward-model directory (transformers' *ForSequenceClassification
//     layout: the trunk, score.weight (1, hidden) ~ N(0, initializer_range), no lm_head;
//     model/reward_model.h), with the LM's tokenizer files.
// baimo rm score --model RM --data FILE [--out scores.jsonl] [--format auto|openai|sharegpt|alpaca]
//                [--chat-template NAME] [--batch N]
//     One JSON line {"record": i, "reward": r} per chat record of FILE (data/chat_records.h), i from 0,
//     to stdout or --out (written atomically); for a file of preference pairs (data/preference_records.h,
//     detected by "chosen" in its first record) {"record": i, "chosen": r+, "rejected": r-} per pair and
//     the pairwise accuracy on stderr. Each conversation is rendered whole with the model's
//     chat template (eval/reward_scores.h). POST /v1/rewards of `baimo serve` gives the same numbers.
// baimo rm grad  --model RM --pairs FILE.safetensors --dump-dir DIR          (a debug path)
//     One Bradley-Terry loss -mean log sigmoid(r+ - r-) over the pairs of FILE: chosen_ids (P, T),
//     chosen_len (P), rejected_ids (P, T), rejected_len (P) (integers; row p's tokens are its first
//     len[p]). Writes DIR/outputs.safetensors (chosen_rewards (P), rejected_rewards (P), loss (1)) and
//     DIR/grads.safetensors (every parameter's gradient under its HF name):
//     tests/reference/test_reward_model_vs_torch.py compares them with PyTorch.
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "baimo/autograd/ops.h"
#include "baimo/autograd/tape.h"
#include "baimo/cli/command.h"
#include "baimo/cli/rm_command.h"
#include "baimo/data/chat_records.h"
#include "baimo/data/preference_records.h"
#include "baimo/eval/reward_scores.h"
#include "baimo/io/safetensors.h"
#include "baimo/model/reward_model.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {
namespace fs = std::filesystem;

struct RmArgs {
  std::string model, out, data, format = "auto", chat_template, pairs, dump_dir;
  uint64_t seed = 0;
  int64_t pad_id = -1, batch = 8;
};

void run_rm_init(const RmArgs& a) {
  prepare_output_dir(a.out);
  const Transformer lm = Transformer::load(a.model);
  require_causal_lm(lm.config(), a.model);
  const Transformer rm = make_reward_model(lm, a.seed, a.pad_id >= 0 ? std::optional<int64_t>(a.pad_id) : std::nullopt);
  ModelDirSave opts;
  opts.tokenizer_json = model_dir_tokenizer(a.model);
  opts.generation_config_json = model_dir_generation_config(a.model);
  rm.save(a.out, opts);
  std::printf("wrote %s: %s, %.3fM parameters, score head (1, %lld) seed %llu\n", a.out.c_str(),
              rm.config().architecture().c_str(), rm.config().parameter_count() / 1e6,
              static_cast<long long>(rm.config().hidden_size), static_cast<unsigned long long>(a.seed));
}

// Whether the data's first record is a preference pair (has "chosen"): JSON array or JSONL, gzipped or not.
bool holds_pairs(const std::string& path) {
  const std::string text = read_file_gunzip(path);
  const size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return false;
  nlohmann::json first;
  if (text[start] == '[') {
    const nlohmann::json all = nlohmann::json::parse(text, nullptr, false);
    if (all.is_array() && !all.empty()) first = all[0];
  } else {
    first = nlohmann::json::parse(text.substr(start, text.find('\n', start) - start), nullptr, false);
  }
  return first.is_object() && first.contains("chosen");
}

void run_rm_score(const RmArgs& a) {
  if (!a.out.empty()) prepare_output_file(a.out);
  const RewardScorer scorer = load_reward_scorer(a.model, a.chat_template);
  // Chat records: one conversation each. Preference pairs: prompt + chosen and prompt + rejected.
  const bool pairs = holds_pairs(a.data);
  std::vector<std::vector<ChatMessage>> conversations;
  if (pairs) {
    for (const PreferenceRecord& r : read_preference_records(a.data))
      for (const std::string* answer : {&r.chosen, &r.rejected}) {
        ChatRecord c;
        c.messages = r.prompt;
        c.messages.push_back({"assistant", *answer});
        c.tools = r.tools;
        conversations.push_back(template_messages(c));
      }
  } else {
    for (const ChatRecord& r : read_chat_records(a.data, chat_format_from_name(a.format)))
      conversations.push_back(template_messages(r));
  }
  std::vector<float> rewards;
  try {
    rewards = score_conversations(scorer, conversations, a.batch);
  } catch (const Error& e) {  // "sequence N: ..." -> the data file and record
    fail("{}: {}", a.data, e.what());
  }
  std::string text;
  size_t right = 0;
  if (pairs) {
    for (size_t i = 0; i < rewards.size() / 2; ++i) {
      text += nlohmann::json{{"record", i}, {"chosen", rewards[2 * i]}, {"rejected", rewards[2 * i + 1]}}.dump() + "\n";
      right += rewards[2 * i] > rewards[2 * i + 1];
    }
  } else {
    for (size_t i = 0; i < rewards.size(); ++i)
      text += nlohmann::json{{"record", i}, {"reward", rewards[i]}}.dump() + "\n";
  }
  if (a.out.empty()) std::fwrite(text.data(), 1, text.size(), stdout);
  else write_file_atomic(a.out, text);
  if (pairs)
    std::fprintf(stderr, "pairwise accuracy %.4f (%zu of %zu pairs: chosen scored above rejected)\n",
                 rewards.empty() ? 0.0 : static_cast<double>(right) / static_cast<double>(rewards.size() / 2), right,
                 rewards.size() / 2);
  if (!a.out.empty()) std::fprintf(stderr, "scored %zu conversations -> %s\n", rewards.size(), a.out.c_str());
}

// chosen_ids / rejected_ids (P, T) with their lengths (P) -> the padded batch of one side.
RewardBatch read_pair_side(const SafetensorsFile& f, const std::string& path, const std::string& side,
                           const ModelConfig& c) {
  const SafetensorInfo& ids = f->get(side + "_ids");
  const SafetensorInfo& len = f->get(side + "_len");
  if (ids.shape.size() != 2 || len.shape.size() != 1 || len.shape[0] != ids.shape[0])
    fail("{}: {}_ids must be (P, T) and {}_len (P)", path, side, side);
  const std::vector<int64_t> v = f->read_i64(side + "_ids"), n = f->read_i64(side + "_len");
  const auto T = static_cast<size_t>(ids.shape[1]);
  std::vector<std::vector<int32_t>> seqs(n.size());
  for (size_t p = 0; p < n.size(); ++p) {
    if (n[p] < 1 || static_cast<size_t>(n[p]) > T) fail("{}: {}_len[{}] = {} is outside [1, {}]", path, side, p, n[p], T);
    for (size_t t = 0; t < static_cast<size_t>(n[p]); ++t) {
      const int64_t id = v[p * T + t];
      if (id < 0 || id >= c.vocab_size) fail("{}: {}_ids[{}, {}] = {} is outside the vocabulary", path, side, p, t, id);
      seqs[p].push_back(static_cast<int32_t>(id));
    }
  }
  return make_reward_batch(seqs, 0, seqs.size(), static_cast<int32_t>(c.pad_token_id.value_or(0)));
}

void run_rm_grad(const RmArgs& a) {
  prepare_output_dir(a.dump_dir);
  const Transformer rm = Transformer::load(a.model);
  require_reward_model(rm.config(), a.model);
  const SafetensorsFile f(a.pairs);
  const RewardBatch chosen = read_pair_side(f, a.pairs, "chosen", rm.config());
  const RewardBatch rejected = read_pair_side(f, a.pairs, "rejected", rm.config());
  if (chosen.last_rows.numel() != rejected.last_rows.numel())
    fail("{}: {} chosen but {} rejected sequences", a.pairs, chosen.last_rows.numel(), rejected.last_rows.numel());
  const ag::Var rc = rm.rewards(chosen.ids, nullptr, nullptr, chosen.last_rows);
  const ag::Var rr = rm.rewards(rejected.ids, nullptr, nullptr, rejected.last_rows);
  const ag::Var loss = ag::neg(ag::mean(ag::log_sigmoid(ag::sub(rc, rr))));
  ag::backward(loss);
  auto floats = [](const ag::Var& v) { return std::vector<float>(v.value().data<float>(), v.value().data<float>() + v.numel()); };
  const int64_t P = rc.numel();
  save_safetensors((fs::path(a.dump_dir) / "outputs.safetensors").string(),
                   {{"chosen_rewards", {P}, floats(rc)}, {"rejected_rewards", {P}, floats(rr)}, {"loss", {1}, floats(loss)}});
  std::vector<std::vector<float>> data;
  std::vector<SafetensorWrite> grads;
  data.reserve(rm.params().size());
  for (const Transformer::Param& p : rm.params()) {
    const Tensor g = p.var.grad();
    data.emplace_back(g.data<float>(), g.data<float>() + g.numel());
    grads.push_back({p.spec.name, p.spec.shape, data.back()});
  }
  save_safetensors((fs::path(a.dump_dir) / "grads.safetensors").string(), grads);
  std::printf("loss %.6f over %lld pairs\n", loss.item(), static_cast<long long>(P));
}

BAIMO_COMMAND(63, [](CLI::App& root) {
  auto* rm = root.add_subcommand("rm", "Reward models: train one on preference pairs, make one from a causal LM, "
                                      "score conversations");
  rm->require_subcommand(1);
  add_rm_train(rm);
  auto i = std::make_shared<RmArgs>();
  auto* init = rm->add_subcommand("init", "A causal LM -> a reward model (trunk + random score head, no lm_head)");
  init->add_option("--model", i->model, "Causal LM model directory")->required();
  init->add_option("--out", i->out, "Output reward-model directory")->required();
  init->add_option("--seed", i->seed, "Seed of the score head's N(0, initializer_range) values")->capture_default_str();
  init->add_option("--pad-id", i->pad_id, "pad_token_id when the LM's config has none (default: its first eos id)");
  init->callback([i] { run_rm_init(*i); });
  auto s = std::make_shared<RmArgs>();
  auto* score = rm->add_subcommand("score", "Score chat records with a reward model: one JSON line per record");
  score->add_option("--model", s->model, "Reward-model directory")->required();
  score->add_option("--data", s->data, "Chat records (OpenAI, ShareGPT, Alpaca) or preference pairs: JSON array or JSONL")->required();
  score->add_option("--out", s->out, "Write the JSON lines here (atomically) instead of stdout");
  score->add_option("--format", s->format, "auto | openai | sharegpt | alpaca")->capture_default_str();
  score->add_option("--chat-template", s->chat_template, "chatml | llama3 | plain (default: from the model)");
  score->add_option("--batch", s->batch, "Conversations per forward")->capture_default_str()->check(CLI::Range(1, 4096));
  score->callback([s] { run_rm_score(*s); });
  auto g = std::make_shared<RmArgs>();
  auto* grad = rm->add_subcommand("grad", "Debug: one Bradley-Terry loss over fixed pairs; dump rewards and gradients");
  grad->add_option("--model", g->model, "Reward-model directory")->required();
  grad->add_option("--pairs", g->pairs, "safetensors: chosen_ids (P, T), chosen_len (P), rejected_ids, rejected_len")
      ->required();
  grad->add_option("--dump-dir", g->dump_dir, "Write outputs.safetensors and grads.safetensors here")->required();
  grad->callback([g] { run_rm_grad(*g); });
});

}  // namespace
}  // namespace baimo::cli
