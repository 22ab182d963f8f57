// From a parsed OpenAI request to what the scheduler runs: prompt token ids and GenerationOptions.
// Contract: the checks that need the model happen here and throw ApiError:
//   404 (param "model", code "model_not_found") when the request names another model;
//   400 for token ids (prompt, logit_bias) outside the vocabulary;
//   400 (code "context_length_exceeded") when prompt + max_tokens exceed the context, naming the
//   numbers as OpenAI does; without max_tokens a chat answer may fill the context and a completion
//   gets OpenAI's default of 16 tokens.
// Chat prompts are rendered with the model's own Jinja chat template when ModelContext::jinja_template
// holds one (tokenizer/jinja_chat_ids.h: tools, tool calls with their arguments as objects, tool
// results with their tool_call_id, as transformers passes them), else with the built-in template
// (tokenizer/chat_template.h), where tool calls, tool results and the tools block take Qwen2.5's
// text form (data/chat_records.h: as SFT data renders them) -- ChatML only: tools for a Llama-3 or
// plain built-in template are a 400. A template that raises is a 400 on "messages". The template's
// end-of-turn marker becomes an extra stop string. tool_choice "none" leaves the tools out of the
// prompt; "required" or a named function constrains the answer to tool_call_grammar (tool_calls.h);
// a parameters schema that does not compile is a 400 on "tools". Text prompts (chat and completions)
// go through infer/inference_model.h encode_prompt (BOS prepended once for add_bos models); a
// token-id prompt is taken as given. Without a seed each request draws one.
// response_format json_object / json_schema compile to GenerationOptions::constraint
// (infer/constrained/constraint.h); a schema that does not compile is a 400 on
// "response_format.json_schema.schema" whose message names the unsupported keywords.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "baimo/infer/constrained/constraint_cache.h"
#include "baimo/infer/sequence.h"
#include "baimo/serve/openai_request.h"
#include "baimo/serve/tool_calls.h"
#include "baimo/tokenizer/chat_template.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo::serve {

struct ModelContext {
  const Tokenizer* tokenizer = nullptr;
  ChatTemplateKind chat_template = ChatTemplateKind::ChatML;
  std::string model_id;
  int64_t ctx = 0;         // positions per slot
  int64_t vocab_size = 0;  // the model's
  std::vector<int32_t> eos_ids;  // config.json eos_token_id(s), besides the tokenizer's
  std::string architecture;      // the transformers class (config.h), named in wrong-kind errors
  std::string jinja_template{};  // the model's own chat template ("" for the built-in one)
  // Compiled response_format constraints, shared by requests with the same schema (and their masks).
  std::shared_ptr<constrained::ConstraintCache> constraints = std::make_shared<constrained::ConstraintCache>();
};

struct PreparedGeneration {
  std::vector<int32_t> prompt;
  GenerationOptions options;
  std::optional<ToolCallFormat> tool_calls;  // parse the answers for calls in this form
};

PreparedGeneration prepare_generation(const CompletionRequest& r, const ModelContext& m);

}  // namespace baimo::serve
