#include "baimo/eval/local_backend.h"

#include <algorithm>
#include <optional>

#include "baimo/infer/engine.h"
#include "baimo/util/error.h"

namespace baimo::eval {

LocalBackend::LocalBackend(const InferenceModel& model, int slots, int64_t ctx, int threads)
    : m_(model), slots_(slots), ctx_(ctx), threads_(threads) {
  const int64_t max = m_.config().max_position_embeddings;
  if (ctx_ > max) fail("--ctx {} exceeds the model's max_position_embeddings {}", ctx_, max);
  if (ctx_ <= 0) ctx_ = std::min<int64_t>(max, 2048);
}

std::vector<McScored> LocalBackend::score_mc(std::span<const McItem> items, const DoneFn& progress) {
  std::vector<McRequest> reqs;
  size_t most = 1;
  for (const McItem& it : items) {
    reqs.push_back(encode_mc(*m_.tokenizer, it.context, it.choices));
    most = std::max(most, it.choices.size());
  }
  Engine engine(m_.weights, std::max(slots_, static_cast<int>(most)), ctx_);
  std::vector<McResult> res = eval::score_mc(engine, reqs, progress);
  std::vector<McScored> out(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    out[i].result = std::move(res[i]);
    nlohmann::json ids = nlohmann::json::array();
    for (auto& c : reqs[i].choices) ids.push_back(c);
    out[i].log = {{"choice_bytes", reqs[i].choice_bytes}, {"choice_chars", reqs[i].choice_chars},
                  {"context_ids", reqs[i].context}, {"choice_ids", ids}};
  }
  return out;
}

GenOutput LocalBackend::generate(std::span<const GenPrompt> prompts, const GenSettings& s, const DoneFn& progress) {
  std::vector<std::vector<int32_t>> ids;
  GenOutput out;
  bool raw = false;
  for (const GenPrompt& p : prompts) {
    std::string text = p.raw ? p.text : render_chat(m_.chat_template, p.messages, true);
    ids.push_back(encode_prompt(m_, text));
    out.prompt_log.emplace_back(std::move(text));
    raw = raw || p.raw;
  }
  BatchGenerateOptions o;
  o.slots = slots_;
  o.threads = threads_;
  o.ctx = ctx_;
  o.max_tokens = s.max_tokens;
  o.samples = s.samples;
  o.temperature = s.temperature;
  o.repetition_penalty = s.repetition_penalty;
  o.seed = s.seed;
  o.eos_ids = m_.eos_ids;
  if (raw) o.stop = {"\n"};
  else o.stop = {chat_end_of_turn(m_.chat_template)};
  out.samples = batch_generate(m_.weights, m_.tokenizer, ids, o, progress);
  // A chat model's answer should end with the template's end-of-turn token (not the base model's
  // end-of-document EOS).
  std::optional<uint32_t> eot;
  if (end_of_turn_known(raw)) eot = m_.tokenizer->token_to_id(chat_end_of_turn(m_.chat_template));
  for (auto& per_prompt : out.samples)
    for (GeneratedSample& g : per_prompt) g.end_of_turn = eot && g.stopped && g.last_id == static_cast<int32_t>(*eot);
  return out;
}

bool LocalBackend::end_of_turn_known(bool raw) const {
  return !raw && m_.chat_template != ChatTemplateKind::Plain;
}

}  // namespace baimo::eval
