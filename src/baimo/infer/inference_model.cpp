#include "baimo/infer/inference_model.h"

#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/gguf_tokenizer.h"
#include "baimo/convert/peft_adapter.h"
#include "baimo/infer/lora_weights.h"
#include "baimo/model/lora_merge.h"
#include "baimo/model/transformer.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/util/error.h"

namespace baimo {

namespace {

ModelWeights load_weights_with_lora(const std::string& path, DType type, const std::string& lora) {
  if (lora.empty()) return load_inference_weights(path, type);
  const ModelPath mp = open_model(path);
  if (mp.is_dir()) {
    // Merge in f32 before any conversion: exact for F32, one rounding for the others.
    const LoraAdapter adapter = load_peft_adapter(lora, load_model_dir_config(path));
    Transformer model = Transformer::load(path);  // freshly loaded: its buffers are ours to write
    merge_lora(model, adapter);
    ModelWeights w = weights_from_transformer(model, type);
    w.chat_template = model_dir_chat_template(path);
    validate_model_weights(w, path);
    return w;
  }
  ModelWeights base = load_inference_weights(path, type);
  const LoraAdapter adapter = load_peft_adapter(lora, base.config);
  return apply_lora(base, adapter, lora);
}

}  // namespace

InferenceModel load_inference_model(const std::string& path, const std::string& dtype,
                                     const std::string& chat_template, const std::string& lora) {
  InferenceModel m;
  const DType type = dtype.empty() ? DType::F32 : parse_gguf_type(dtype);
  std::string tok_path = path;  // a GGUF file holds its tokenizer
  if (open_model(path).is_dir()) {
    require_causal_lm(load_model_dir_config(path), path);
    tok_path = model_dir_tokenizer(path);
    if (tok_path.empty()) fail("{}: no tokenizer.json in the model directory", path);
  }
  m.weights = std::make_shared<const ModelWeights>(load_weights_with_lora(path, type, lora));
  m.tokenizer = std::make_shared<const Tokenizer>(load_tokenizer(tok_path));
  const ModelConfig& c = m.weights->config;
  if (static_cast<int64_t>(m.tokenizer->vocab_size()) > c.vocab_size)
    fail("{}: the tokenizer has {} ids but the model's vocab_size is {}", tok_path, m.tokenizer->vocab_size(),
         c.vocab_size);
  m.chat_template = chat_template.empty() ? detect_chat_template(m.weights->chat_template, *m.tokenizer)
                                          : chat_template_from_name(chat_template);
  if (auto e = m.tokenizer->eos_id()) m.eos_ids.push_back(static_cast<int32_t>(*e));
  for (int64_t e : c.eos_token_ids)
    if (e >= 0 && e < c.vocab_size) m.eos_ids.push_back(static_cast<int32_t>(e));
  return m;
}

void prepend_bos_once(const Tokenizer& tok, std::vector<int32_t>& ids) {
  const std::optional<uint32_t> bos = tok.bos_id();
  if (!tok.add_bos() || !bos) return;
  const auto b = static_cast<int32_t>(*bos);
  if (ids.empty() || ids.front() != b) ids.insert(ids.begin(), b);
}

std::vector<int32_t> encode_prompt(const Tokenizer& tok, std::string_view text) {
  std::vector<int32_t> ids;
  for (uint32_t id : tok.encode(text, Specials::Allow)) ids.push_back(static_cast<int32_t>(id));
  prepend_bos_once(tok, ids);
  return ids;
}

std::vector<int32_t> encode_prompt(const InferenceModel& m, const std::string& text) {
  return encode_prompt(*m.tokenizer, text);
}

std::vector<int32_t> encode_chat_prompt(const Tokenizer& tok, ChatTemplateKind kind,
                                        std::span<const ChatMessage> messages, bool trusted_specials) {
  ChatRenderOptions o;
  o.add_generation_prompt = true;
  o.trusted_specials = trusted_specials;
  const RenderedChat r = render_chat_ids(tok, kind, messages, o);
  std::vector<int32_t> ids(r.ids.begin(), r.ids.end());
  prepend_bos_once(tok, ids);
  return ids;
}

std::vector<int32_t> encode_chat_prompt(const InferenceModel& m, std::span<const ChatMessage> messages,
                                        bool trusted_specials) {
  return encode_chat_prompt(*m.tokenizer, m.chat_template, messages, trusted_specials);
}

}  // namespace baimo
