#include "baimo/serve/tool_calls.h"

#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "baimo/infer/constrained/json_schema.h"
#include "baimo/util/error.h"
#include "baimo/util/trim.h"

namespace baimo::serve {
namespace {
using ojson = nlohmann::ordered_json;

constexpr std::string_view kOpen = "<tool_call>", kClose = "</tool_call>", kPythonTag = "<|python_tag|>";

// {"name": str, <args_key>: object or JSON text of one} -> the call, else nothing.
std::optional<ParsedToolCall> call_from_json(std::string_view text, ToolCallFormat format) {
  const ojson j = ojson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto name = j.find("name");
  if (name == j.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) return std::nullopt;
  auto args = j.find("arguments");
  if (format == ToolCallFormat::LlamaJson && args == j.end()) args = j.find("parameters");
  if (args == j.end()) return std::nullopt;
  ojson a = *args;
  if (a.is_string()) a = ojson::parse(args->get_ref<const std::string&>(), nullptr, false);
  if (a.is_discarded() || !a.is_object()) return std::nullopt;
  return ParsedToolCall{name->get<std::string>(), a.dump()};
}

// The length of the longest suffix of `s` that is a proper prefix of `word`.
size_t partial_suffix(std::string_view s, std::string_view word) {
  for (size_t n = std::min(s.size(), word.size() - 1); n > 0; --n)
    if (s.substr(s.size() - n) == word.substr(0, n)) return n;
  return 0;
}

}  // namespace

ToolCallFormat tool_call_format(std::string_view jinja) {
  if (jinja.find("<tool_call>") != std::string_view::npos) return ToolCallFormat::Hermes;
  if (jinja.find("\"parameters\": ") != std::string_view::npos || jinja.find("<|python_tag|>") != std::string_view::npos)
    return ToolCallFormat::LlamaJson;
  return ToolCallFormat::Hermes;
}

ParsedAnswer parse_tool_calls(ToolCallFormat format, std::string_view text) {
  ParsedAnswer plain{std::string(trim_space(text)), {}};
  if (format == ToolCallFormat::LlamaJson) {
    std::string_view t = trim_space(text);
    if (t.substr(0, kPythonTag.size()) == kPythonTag) t = trim_space(t.substr(kPythonTag.size()));
    auto call = call_from_json(t, format);
    if (!call) return plain;
    return ParsedAnswer{"", {std::move(*call)}};
  }
  ParsedAnswer out;
  std::string content;
  size_t at = 0;
  while (true) {
    const size_t open = text.find(kOpen, at);
    if (open == std::string_view::npos) break;
    content += text.substr(at, open - at);
    // The block ends at the first "</tool_call>" after which its JSON parses (a string value may hold
    // that text), or at the end of the answer.
    const size_t body = open + kOpen.size();
    std::optional<ParsedToolCall> call;
    size_t end = text.size();
    for (size_t from = body;;) {
      const size_t close = text.find(kClose, from);
      if (close == std::string_view::npos) {  // unclosed: the JSON runs to the end of the answer
        call = call_from_json(text.substr(body), format);
        break;
      }
      call = call_from_json(text.substr(body, close - body), format);
      if (call) {
        end = close + kClose.size();
        break;
      }
      from = close + 1;
    }
    if (!call) {  // not a call: the rest of the answer is text
      content += text.substr(open);
      at = text.size();
      break;
    }
    out.calls.push_back(std::move(*call));
    at = end;
  }
  if (out.calls.empty()) return plain;
  content += text.substr(at);
  out.content = std::string(trim_space(content));
  return out;
}

void ToolCallStream::emit_content(std::string_view text, Out& out) {
  if (calls_ > 0 && trim_space(text).empty()) return;  // the separators between and after calls
  out.content += text;
}

ToolCallStream::Out ToolCallStream::feed(std::string_view text) {
  Out out;
  buf_ += text;
  if (format_ == ToolCallFormat::LlamaJson) {
    if (!started_) {
      std::string_view t = trim_space(buf_);
      if (t.empty() || (t.size() < kPythonTag.size() && kPythonTag.substr(0, t.size()) == t)) return out;
      started_ = true;
      json_answer_ = t.front() == '{' || t.substr(0, kPythonTag.size()) == kPythonTag;
    }
    if (!json_answer_) {
      out.content = std::move(buf_);
      buf_.clear();
    }
    return out;
  }
  while (true) {
    if (!in_call_) {
      const size_t open = buf_.find(kOpen);
      if (open == std::string::npos) {
        const size_t keep = partial_suffix(buf_, kOpen);
        emit_content(std::string_view(buf_).substr(0, buf_.size() - keep), out);
        buf_.erase(0, buf_.size() - keep);
        return out;
      }
      emit_content(std::string_view(buf_).substr(0, open), out);
      buf_.erase(0, open);
      in_call_ = true;
      scan_ = kOpen.size();
    }
    // As the whole parse: the block ends at the first "</tool_call>" after which its JSON parses.
    while (true) {
      const size_t close = buf_.find(kClose, scan_);
      if (close == std::string::npos) return out;
      auto call = call_from_json(std::string_view(buf_).substr(kOpen.size(), close - kOpen.size()), format_);
      if (!call) {
        scan_ = close + 1;
        continue;
      }
      out.calls.push_back(std::move(*call));
      ++calls_;
      buf_.erase(0, close + kClose.size());
      in_call_ = false;
      break;
    }
  }
}

ToolCallStream::Out ToolCallStream::finish() {
  Out out;
  if (format_ == ToolCallFormat::LlamaJson) {
    ParsedAnswer a = parse_tool_calls(format_, buf_);
    if (!a.calls.empty()) out.calls = std::move(a.calls), ++calls_;
    else out.content = buf_;
  } else if (in_call_) {
    auto call = call_from_json(std::string_view(buf_).substr(kOpen.size()), format_);
    if (call) out.calls.push_back(std::move(*call)), ++calls_;
    else emit_content(buf_, out);
  } else {
    emit_content(buf_, out);
  }
  buf_.clear();
  in_call_ = false;
  return out;
}

std::string tool_call_grammar(ToolCallFormat format, std::string_view tools_json, const std::string& named, bool parallel) {
  const ojson tools = ojson::parse(tools_json);
  std::vector<std::pair<std::string, std::string>> args;
  std::string calls;
  for (size_t i = 0; i < tools.size(); ++i) {
    const ojson& fn = tools[i]["function"];
    const std::string name = fn["name"].get<std::string>();
    if (!named.empty() && name != named) continue;
    const std::string rule = "args" + std::to_string(i);
    const std::string schema = fn.contains("parameters") && !fn["parameters"].is_null() ? fn["parameters"].dump() : "{}";
    try {  // alone first, so that an error names its tool
      constrained::json_schema_rules({{rule, schema}});
    } catch (const constrained::UnsupportedSchema& e) {
      throw constrained::UnsupportedSchema(fmt::format("tools[{}] ({}): {}", i, name, e.what()), e.keywords);
    } catch (const Error& e) {
      fail("tools[{}] ({}): {}", i, name, e.what());
    }
    args.emplace_back(rule, schema);
    const std::string head = format == ToolCallFormat::Hermes ? "{\"name\": \"" + name + "\", \"arguments\": "
                                                              : "{\"name\": \"" + name + "\", \"parameters\": ";
    calls += (calls.empty() ? "" : " | ") + constrained::gbnf_literal(head) + " " + rule + " \"}\"";
  }
  if (calls.empty()) fail("tool_choice names '{}', which is not among the tools", named);
  const std::string rules = constrained::json_schema_rules(args);
  std::string g = "call ::= " + calls + "\n";
  if (format == ToolCallFormat::LlamaJson) g = "root ::= call\n" + g;
  else if (parallel) g = "root ::= block (\"\\n\" block)*\nblock ::= \"<tool_call>\\n\" call \"\\n</tool_call>\"\n" + g;
  else g = "root ::= \"<tool_call>\\n\" call \"\\n</tool_call>\"\n" + g;
  return g + rules;
}

std::string new_tool_call_id() {
  static constexpr char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kAlnum[rng() % (sizeof(kAlnum) - 1)];
  return id;
}

}  // namespace baimo::serve
