#include "baimo/data/chat_records.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "baimo/data/chat_json.h"
#include "baimo/data/python_json.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {
namespace {

using namespace chat_json;

// ---- Alpaca ------------------------------------------------------------------------------------
void alpaca_turns(const Where& w, const Json& rec, const std::string& input, const std::string& input_field,
                  const Json& output, const std::string& output_field, TurnBuilder& b) {
  const std::string system = w.optional_string(rec, "system", "system");
  if (!system.empty()) b.system(system, "system");
  if (auto h = rec.find("history"); h != rec.end() && !h->is_null()) {
    if (!h->is_array()) w.bad("history", fmt::format("expected an array of [user, assistant] pairs, got {}", type_name(*h)));
    for (size_t i = 0; i < h->size(); ++i) {
      const Json& pair = (*h)[i];
      const std::string f = fmt::format("history[{}]", i);
      if (!pair.is_array() || pair.size() != 2) w.bad(f, "expected a [user, assistant] pair of strings");
      b.prompt(w.string(pair[0], f + "[0]"), false, f + "[0]");
      b.answer(w.string(pair[1], f + "[1]"), false, f + "[1]");
    }
  }
  const std::string instruction = w.string(w.need(rec, "instruction", "instruction"), "instruction");
  std::string user = instruction;
  if (!input.empty()) user = user.empty() ? input : user + "\n" + input;
  if (user.empty()) w.bad("instruction", "expected a non-empty instruction or input");
  b.prompt(user, false, input.empty() ? "instruction" : input_field);
  b.answer(w.string(output, output_field), false, output_field);
}

// ---- the file ----------------------------------------------------------------------------------
ChatFormat detect(const Json& rec) {
  if (rec.contains("messages")) return ChatFormat::OpenAI;
  if (rec.contains("conversations")) return ChatFormat::ShareGPT;
  if (rec.contains("instruction") || rec.contains("output") || rec.contains("instances")) return ChatFormat::Alpaca;
  return ChatFormat::Auto;
}

struct Reader {
  const std::string& name;
  ChatFormat format;
  const std::map<std::string, std::string>& placeholders;
  std::vector<ChatRecord> out;
  size_t first_record = 0;  // where the format was detected

  void record(const Json& rec, size_t number, size_t line) {
    Where w{record_where(name, number, line)};
    if (!rec.is_object()) fail("{}: expected a JSON object, got {}", w.where, type_name(rec));
    const ChatFormat here = detect(rec);
    if (format == ChatFormat::Auto) {
      if (here == ChatFormat::Auto)
        fail("{}: not a chat record: expected a 'messages' (OpenAI), 'conversations' (ShareGPT) or "
             "'instruction' and 'output' (Alpaca) field",
             w.where);
      format = here;
      first_record = number;
    } else if (here != ChatFormat::Auto && here != format) {
      fail("{}: looks like {} but the file is read as {}{}", w.where, chat_format_name(here), chat_format_name(format),
           first_record ? fmt::format(" (detected from record {})", first_record) : std::string(" (forced)"));
    }
    const std::string tools = tools_text(w, rec);
    if (format == ChatFormat::Alpaca) {
      if (auto inst = rec.find("instances"); inst != rec.end()) {  // Self-Instruct: one record per instance
        if (!inst->is_array() || inst->empty()) w.bad("instances", "expected a non-empty array of {input, output} objects");
        for (size_t k = 0; k < inst->size(); ++k) {
          const Json& in = (*inst)[k];
          const std::string f = fmt::format("instances[{}]", k);
          if (!in.is_object()) w.bad(f, fmt::format("expected an object, got {}", type_name(in)));
          Where wk{inst->size() > 1 ? fmt::format("{}, instance {}", w.where, k + 1) : w.where};
          TurnBuilder b(wk);
          alpaca_turns(wk, rec, wk.optional_string(in, "input", f + ".input"), f + ".input",
                       wk.need(in, "output", f + ".output"), f + ".output", b);
          out.push_back(b.finish(f, tools, placeholders));
        }
        return;
      }
      TurnBuilder b(w);
      alpaca_turns(w, rec, w.optional_string(rec, "input", "input"), "input", w.need(rec, "output", "output"), "output", b);
      out.push_back(b.finish("output", tools, placeholders));
      return;
    }
    TurnBuilder b(w);
    if (format == ChatFormat::OpenAI)
      openai_messages(w, w.need(rec, "messages", "messages"), "messages", b);
    else
      sharegpt_turns(w, w.need(rec, "conversations", "conversations"), "conversations",
                     w.optional_string(rec, "system", "system"), b);
    out.push_back(b.finish(format == ChatFormat::OpenAI ? "messages" : "conversations", tools, placeholders));
  }
};

}  // namespace

std::vector<ChatRecord> parse_chat_records(std::string_view text, const std::string& name, ChatFormat format,
                                           const std::map<std::string, std::string>& placeholders) {
  Reader r{name, format, placeholders, {}};
  for_each_json_record(text, name, [&r](const Json& rec, size_t number, size_t line) { r.record(rec, number, line); });
  if (r.out.empty()) fail("{}: no records", name);
  return std::move(r.out);
}

std::vector<ChatRecord> read_chat_records(const std::string& path, ChatFormat format,
                                          const std::map<std::string, std::string>& placeholders) {
  return parse_chat_records(read_file_gunzip(path), path, format, placeholders);
}

ChatFormat chat_format_from_name(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "auto") return ChatFormat::Auto;
  if (n == "openai") return ChatFormat::OpenAI;
  if (n == "alpaca") return ChatFormat::Alpaca;
  if (n == "sharegpt") return ChatFormat::ShareGPT;
  fail("unknown chat data format '{}' (expected auto, openai, alpaca or sharegpt)", name);
}

const char* chat_format_name(ChatFormat format) {
  switch (format) {
    case ChatFormat::Auto: return "auto";
    case ChatFormat::OpenAI: return "openai";
    case ChatFormat::Alpaca: return "alpaca";
    case ChatFormat::ShareGPT: return "sharegpt";
  }
  return "?";
}

std::string qwen_tools_system_text(std::string_view tools_json, bool after_system_text) {
  if (tools_json.empty()) return "";
  Json list = Json::parse(tools_json, nullptr, false);
  if (list.is_discarded() || !list.is_array()) fail("tools: expected a JSON array of tools");
  if (list.empty()) return "";
  std::string out = after_system_text ? "\n\n" : "";
  out +=
      "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
      "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
  for (const Json& tool : list) {
    out += '\n';
    const auto type = tool.is_object() ? tool.find("type") : tool.end();
    if (type != tool.end() && *type == "function" && tool.contains("function")) {
      out += python_json_dumps(tool);
    } else {
      Json wrapped = Json::object();
      wrapped["type"] = "function";
      wrapped["function"] = tool;
      out += python_json_dumps(wrapped);
    }
  }
  out +=
      "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
      "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
      "<args-json-object>}\n</tool_call>";
  return out;
}

std::string qwen_tool_call_text(const std::string& name, std::string_view arguments_json) {
  Json call = Json::object();
  call["name"] = name;
  call["arguments"] = Json::parse(arguments_json);
  return "<tool_call>\n" + python_json_dumps(call) + "\n</tool_call>";
}

std::string qwen_tool_response_text(const std::string& text) { return "<tool_response>\n" + text + "\n</tool_response>"; }

std::vector<ChatMessage> template_messages(const ChatRecord& record) {
  std::vector<ChatMessage> out = record.messages;
  if (record.tools.empty()) return out;
  if (!out.empty() && out.front().role == "system") {
    out.front().content += qwen_tools_system_text(record.tools, !out.front().content.empty());
  } else {
    out.insert(out.begin(), ChatMessage{"system", qwen_tools_system_text(record.tools, false)});
  }
  return out;
}

ChatRecord without_exchanges(const ChatRecord& r, size_t drop) {
  ChatRecord out;
  out.tools = r.tools;
  out.where = r.where;
  if (!r.messages.empty() && r.messages.front().role == "system") out.messages.push_back(r.messages.front());
  const size_t from = r.exchanges[drop];
  const size_t offset = from - out.messages.size();
  out.messages.insert(out.messages.end(), r.messages.begin() + static_cast<std::ptrdiff_t>(from), r.messages.end());
  for (size_t k = drop; k < r.exchanges.size(); ++k) out.exchanges.push_back(r.exchanges[k] - offset);
  return out;
}

}  // namespace baimo
