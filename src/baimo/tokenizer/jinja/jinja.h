// Jinja chat templates, executed as Hugging Face transformers executes them: jinja2's
// ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with keep_trailing_newline
// False, the loop-controls extension ({% break %}, {% continue %}), globals raise_exception(msg)
// and strftime_now(fmt), and the tojson filter = json.dumps(x, ensure_ascii=False, indent=None,
// separators=None, sort_keys=False).
// The interpreter covers the subset that published chat templates use: {{ }}, {% %}, {# #},
// whitespace control, if/elif/else, for (tuple targets, `if` filter, else, loop.index/index0/
// revindex/first/last/length/previtem/nextitem/cycle), set (and its block form), namespace(),
// macros, filter blocks, with, jinja2's built-in filters and tests, Python's str/dict methods,
// slicing, and jinja2's default Undefined (prints "", falsy, errors on attribute access).
// Values follow Python (repr of lists and dicts, float repr, 1 == 1.0); integers are 64-bit.
// Errors (syntax, runtime, raise_exception) are baimo::Error "template line L, column C: ...".
// Rendering is bounded (nesting depth, macro recursion, loop steps, output size) so that no
// template, however hostile, can crash or hang the process.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace baimo {

// Renders template_text with the variables of `context` (a JSON object; key order is kept).
std::string render_jinja(const std::string& template_text, const nlohmann::ordered_json& context);

// apply_chat_template's context: messages, tools (None when `tools` is null or absent),
// documents = None, add_generation_prompt, the special tokens given (an empty bos/eos token is
// left undefined, as transformers leaves tokens that are None out of special_tokens_map), then
// every key of `extra` (an object: other special tokens, date_string, enable_thinking, ...).
std::string render_chat_jinja(const std::string& template_text, const nlohmann::ordered_json& messages,
                              const nlohmann::ordered_json& tools, bool add_generation_prompt,
                              const std::string& bos_token, const std::string& eos_token,
                              const nlohmann::ordered_json& extra = nlohmann::ordered_json::object());

}  // namespace baimo
