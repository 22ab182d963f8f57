// InferenceModel: what `baimo generate`, `chat` and `eval` need from a model path, loaded once:
// weights (model_weights.h; a model directory may be converted to another type at load time),
// the tokenizer (the directory's tokenizer.json, or the GGUF's own), the chat template
// (--chat-template name, else detected from the model's metadata and tokens) and the EOS ids
// (the tokenizer's eos plus config.json's eos_token_id list); whether prompts start with the BOS is
// the tokenizer's add_bos() (read from tokenizer_config.json / tokenizer.json / GGUF metadata).
// A model without a tokenizer is a baimo::Error naming the path.
// lora: "" or a PEFT adapter directory (convert/peft_adapter.h) applied at load: merged into a model
// directory's f32 weights before the dtype conversion, or into a GGUF's weights by infer/lora_weights.h
// (quantized matrices are requantized: lossy). An adapter that does not fit the base is a
// baimo::Error naming the adapter file and tensor, before anything runs.
#pragma once
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/infer/model_weights.h"
#include "baimo/tokenizer/chat_template.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

struct InferenceModel {
  std::shared_ptr<const ModelWeights> weights;
  std::shared_ptr<const Tokenizer> tokenizer;
  ChatTemplateKind chat_template = ChatTemplateKind::ChatML;
  std::vector<int32_t> eos_ids;
  const ModelConfig& config() const { return weights->config; }
};

// dtype: "" or f32 | f16 | bf16 | q8_0 | q4_0; chat_template: "" (detect) or a template name.
InferenceModel load_inference_model(const std::string& path, const std::string& dtype = "",
                                    const std::string& chat_template = "", const std::string& lora = "");

// The one place that decides the model input of a prompt text (generate, chat, serve): text -> ids
// with special tokens recognised (chat markers), then the BOS prepended once when the tokenizer says
// the model expects it (Tokenizer::add_bos: Llama-style models; never for Qwen2/ChatML ones).
// The tokenizer's ids must fit the model.
std::vector<int32_t> encode_prompt(const Tokenizer& tok, std::string_view text);
std::vector<int32_t> encode_prompt(const InferenceModel& m, const std::string& text);
// A conversation as model input (chat, serve, generate --chat-template): render_chat_ids() with the
// generation prompt (message text as plain text unless trusted_specials), then prepend_bos_once.
std::vector<int32_t> encode_chat_prompt(const Tokenizer& tok, ChatTemplateKind kind,
                                        std::span<const ChatMessage> messages, bool trusted_specials = false);
std::vector<int32_t> encode_chat_prompt(const InferenceModel& m, std::span<const ChatMessage> messages,
                                        bool trusted_specials = false);
// The prepend-once rule: when tok.add_bos() and tok has a bos id, inserts it at ids[0] unless ids
// already start with it (a chat template that renders the BOS itself, e.g. Llama-3's
// <|begin_of_text|>). An empty `ids` becomes {bos}. Otherwise leaves ids as they are.
void prepend_bos_once(const Tokenizer& tok, std::vector<int32_t>& ids);

}  // namespace baimo
