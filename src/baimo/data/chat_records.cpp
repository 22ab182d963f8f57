#include "baimo/data/chat_records.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

#include "baimo/data/python_json.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {
namespace {

using Json = nlohmann::ordered_json;

const char* type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::discarded: return "nothing";
    default: return "a number";
  }
}

// One record's context for error messages.
struct Where {
  std::string where;
  [[noreturn]] void bad(const std::string& field, const std::string& expected) const {
    fail("{}: field '{}': {}", where, field, expected);
  }
  const Json& need(const Json& obj, const char* key, const std::string& field) const {
    auto it = obj.find(key);
    if (it == obj.end()) bad(field, "missing");
    return *it;
  }
  const std::string& string(const Json& v, const std::string& field) const {
    if (!v.is_string()) bad(field, fmt::format("expected a string, got {}", type_name(v)));
    return v.get_ref<const std::string&>();
  }
  const std::string& nonempty_string(const Json& v, const std::string& field) const {
    const std::string& s = string(v, field);
    if (s.empty()) bad(field, "expected a non-empty string, got \"\"");
    return s;
  }
  // An optional string field: absent or null -> "".
  std::string optional_string(const Json& obj, const char* key, const std::string& field) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return "";
    return string(*it, field);
  }
};

// Collects turns and enforces the order rules of chat_records.h.
class TurnBuilder {
 public:
  explicit TurnBuilder(const Where& w) : w_(w) {}

  void system(const std::string& content, const std::string& field) {
    if (!rec_.messages.empty()) w_.bad(field, "a system message is allowed only as the first message");
    rec_.messages.push_back({"system", content});
  }
  void prompt(const std::string& content, bool tool_result, const std::string& field) {
    if (expect_answer_)
      w_.bad(field, fmt::format("a {} after a {}; expected an assistant turn (turns alternate user/tool "
                                "result and assistant/tool call)",
                                tool_result ? "tool result" : "user turn", last_));
    if (!tool_result && content.empty()) w_.bad(field, "expected a non-empty user message");
    if (tool_result && answers_ == 0) w_.bad(field, "a tool result before any assistant turn");
    if (!tool_result) rec_.exchanges.push_back(rec_.messages.size());
    rec_.messages.push_back({"user", content});
    expect_answer_ = true;
    last_ = tool_result ? "tool result" : "user turn";
  }
  void answer(const std::string& content, bool tool_call, const std::string& field) {
    if (!expect_answer_)
      w_.bad(field, fmt::format("{} after {}; expected a user turn or a tool result first (turns "
                                "alternate user/tool result and assistant/tool call)",
                                tool_call ? "a tool call" : "an assistant turn",
                                answers_ ? "an assistant turn" : "the start of the conversation"));
    if (content.empty()) w_.bad(field, "expected a non-empty assistant message");
    rec_.messages.push_back({"assistant", content});
    expect_answer_ = false;
    ++answers_;
  }
  ChatRecord finish(const std::string& field, std::string tools,
                    const std::map<std::string, std::string>& placeholders) {
    if (answers_ == 0 || expect_answer_)
      w_.bad(field, "expected the conversation to end with an assistant turn (the answer to train on)");
    for (ChatMessage& m : rec_.messages) fill_placeholders(m.content, placeholders);
    rec_.tools = std::move(tools);
    rec_.where = w_.where;
    return std::move(rec_);
  }

 private:
  static void fill_placeholders(std::string& s, const std::map<std::string, std::string>& placeholders) {
    if (placeholders.empty() || s.find("{{") == std::string::npos) return;
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      size_t open = s.find("{{", i);
      if (open == std::string::npos) break;
      size_t close = s.find("}}", open + 2);
      if (close == std::string::npos) break;
      auto it = placeholders.find(s.substr(open + 2, close - open - 2));
      if (it == placeholders.end()) {
        out.append(s, i, open + 2 - i);
        i = open + 2;
        continue;
      }
      out.append(s, i, open - i);
      out += it->second;
      i = close + 2;
    }
    out.append(s, i, std::string::npos);
    s = std::move(out);
  }

  const Where& w_;
  ChatRecord rec_;
  bool expect_answer_ = false;
  size_t answers_ = 0;
  const char* last_ = "";
};

// Tools: an array, or a string holding one ("" and "[]" mean none). Returns python-style JSON or "".
std::string tools_text(const Where& w, const Json& obj) {
  auto it = obj.find("tools");
  if (it == obj.end() || it->is_null()) return "";
  Json list;
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    if (s.find_first_not_of(" \t\r\n") == std::string::npos) return "";
    list = Json::parse(s, nullptr, false);
    if (list.is_discarded()) w.bad("tools", "expected a JSON array of tools in the string, got invalid JSON");
  } else {
    list = *it;
  }
  if (!list.is_array()) w.bad("tools", fmt::format("expected an array of tools, got {}", type_name(list)));
  for (size_t i = 0; i < list.size(); ++i)
    if (!list[i].is_object()) w.bad(fmt::format("tools[{}]", i), fmt::format("expected an object, got {}", type_name(list[i])));
  return list.empty() ? "" : python_json_dumps(list);
}

// One call {"name", "arguments"} (or OpenAI's {"type": "function", "function": {...}}) -> its block.
std::string tool_call_block(const Where& w, const Json& call, const std::string& field) {
  if (!call.is_object()) w.bad(field, fmt::format("expected a tool call object, got {}", type_name(call)));
  const Json* fn = &call;
  std::string f = field;
  if (auto it = call.find("function"); it != call.end()) {
    fn = &*it;
    f += ".function";
    if (!fn->is_object()) w.bad(f, fmt::format("expected an object, got {}", type_name(*fn)));
  }
  const std::string& name = w.nonempty_string(w.need(*fn, "name", f + ".name"), f + ".name");
  const Json& args_in = w.need(*fn, "arguments", f + ".arguments");
  Json args = args_in;
  if (args_in.is_string()) {  // OpenAI sends arguments as JSON text
    args = Json::parse(args_in.get_ref<const std::string&>(), nullptr, false);
    if (args.is_discarded()) w.bad(f + ".arguments", "expected JSON text (the call's arguments), got invalid JSON");
  }
  Json out = Json::object();
  out["name"] = name;
  out["arguments"] = std::move(args);
  return "<tool_call>\n" + python_json_dumps(out) + "\n</tool_call>";
}

std::string tool_calls_text(const Where& w, const Json& calls, const std::string& field) {
  std::string out;
  if (calls.is_array()) {
    if (calls.empty()) w.bad(field, "expected at least one tool call");
    for (size_t i = 0; i < calls.size(); ++i) {
      if (i) out += '\n';
      out += tool_call_block(w, calls[i], fmt::format("{}[{}]", field, i));
    }
    return out;
  }
  return tool_call_block(w, calls, field);
}

std::string tool_response(const std::string& text) { return "<tool_response>\n" + text + "\n</tool_response>"; }

// ---- OpenAI ------------------------------------------------------------------------------------
std::string openai_content(const Where& w, const Json& m, const std::string& field, bool may_be_null) {
  auto it = m.find("content");
  if (it == m.end() || it->is_null()) {
    if (may_be_null) return "";
    w.bad(field, it == m.end() ? "missing" : "expected a string, got null");
  }
  if (it->is_array()) {  // content parts: the text of the "text" parts
    std::string out;
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& p = (*it)[i];
      const std::string pf = fmt::format("{}[{}]", field, i);
      if (!p.is_object()) w.bad(pf, fmt::format("expected a content part object, got {}", type_name(p)));
      const std::string& type = w.string(w.need(p, "type", pf + ".type"), pf + ".type");
      if (type != "text") w.bad(pf + ".type", fmt::format("expected \"text\" (the only part type for training), got \"{}\"", type));
      out += w.string(w.need(p, "text", pf + ".text"), pf + ".text");
    }
    return out;
  }
  return w.string(*it, field);
}

void openai_record(const Where& w, const Json& rec, TurnBuilder& b) {
  const Json& msgs = w.need(rec, "messages", "messages");
  if (!msgs.is_array()) w.bad("messages", fmt::format("expected an array of messages, got {}", type_name(msgs)));
  std::vector<std::string> pending_tools;  // a run of tool messages -> one user turn
  std::string pending_field;
  auto flush_tools = [&] {
    if (pending_tools.empty()) return;
    std::string text;
    for (size_t i = 0; i < pending_tools.size(); ++i) {
      if (i) text += '\n';
      text += tool_response(pending_tools[i]);
    }
    b.prompt(text, true, pending_field);
    pending_tools.clear();
  };
  for (size_t i = 0; i < msgs.size(); ++i) {
    const Json& m = msgs[i];
    const std::string f = fmt::format("messages[{}]", i);
    if (!m.is_object()) w.bad(f, fmt::format("expected a message object, got {}", type_name(m)));
    const std::string& role = w.string(w.need(m, "role", f + ".role"), f + ".role");
    if (role == "tool") {
      if (pending_tools.empty()) pending_field = f;
      pending_tools.push_back(openai_content(w, m, f + ".content", false));
      continue;
    }
    flush_tools();
    if (role == "system") {
      b.system(openai_content(w, m, f + ".content", false), f);
    } else if (role == "user") {
      b.prompt(openai_content(w, m, f + ".content", false), false, f);
    } else if (role == "assistant") {
      auto calls = m.find("tool_calls");
      const bool has_calls = calls != m.end() && !calls->is_null() && !(calls->is_array() && calls->empty());
      std::string content = openai_content(w, m, f + ".content", has_calls);
      if (has_calls) {
        if (!calls->is_array()) w.bad(f + ".tool_calls", fmt::format("expected an array, got {}", type_name(*calls)));
        const std::string blocks = tool_calls_text(w, *calls, f + ".tool_calls");
        content = content.empty() ? blocks : content + "\n" + blocks;
      }
      b.answer(content, has_calls, f);
    } else {
      w.bad(f + ".role", fmt::format("expected system, user, assistant or tool, got \"{}\"", role));
    }
  }
  flush_tools();
}

// ---- ShareGPT ----------------------------------------------------------------------------------
void sharegpt_record(const Where& w, const Json& rec, TurnBuilder& b) {
  const Json& conv = w.need(rec, "conversations", "conversations");
  if (!conv.is_array()) w.bad("conversations", fmt::format("expected an array of turns, got {}", type_name(conv)));
  const std::string system = w.optional_string(rec, "system", "system");
  if (!system.empty()) b.system(system, "system");
  for (size_t i = 0; i < conv.size(); ++i) {
    const Json& t = conv[i];
    const std::string f = fmt::format("conversations[{}]", i);
    if (!t.is_object()) w.bad(f, fmt::format("expected a turn object, got {}", type_name(t)));
    const std::string& from = w.string(w.need(t, "from", f + ".from"), f + ".from");
    const std::string& value = w.string(w.need(t, "value", f + ".value"), f + ".value");
    if (from == "human" || from == "user") {
      b.prompt(value, false, f);
    } else if (from == "gpt" || from == "assistant") {
      b.answer(value, false, f);
    } else if (from == "function_call") {
      Json call = Json::parse(value, nullptr, false);
      if (call.is_discarded()) w.bad(f + ".value", "expected JSON text of a tool call {\"name\", \"arguments\"}, got invalid JSON");
      b.answer(tool_calls_text(w, call, f + ".value"), true, f);
    } else if (from == "observation" || from == "tool") {
      b.prompt(tool_response(value), true, f);
    } else if (from == "system") {
      if (i != 0 || !system.empty()) w.bad(f + ".from", "a system turn is allowed only as the first turn (and not with a 'system' field)");
      b.system(value, f);
    } else {
      w.bad(f + ".from", fmt::format("expected human, gpt, function_call, observation or system, got \"{}\"", from));
    }
  }
}

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
    Where w{line ? fmt::format("{}: record {}, line {}", name, number, line) : fmt::format("{}: record {}", name, number)};
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
    if (format == ChatFormat::OpenAI) openai_record(w, rec, b);
    else sharegpt_record(w, rec, b);
    out.push_back(b.finish(format == ChatFormat::OpenAI ? "messages" : "conversations", tools, placeholders));
  }
};

}  // namespace

std::vector<ChatRecord> parse_chat_records(std::string_view text, const std::string& name, ChatFormat format,
                                           const std::map<std::string, std::string>& placeholders) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  Reader r{name, format, placeholders, {}};
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) fail("{}: no records (the file is empty)", name);
  if (text[first] == '[') {  // one JSON array
    Json all;
    try {
      all = Json::parse(text);
    } catch (const Json::exception& e) {
      fail("{}: not valid JSON: {}", name, e.what());
    }
    if (!all.is_array()) fail("{}: expected a JSON array of records", name);
    for (size_t i = 0; i < all.size(); ++i) r.record(all[i], i + 1, 0);
  } else {  // JSONL
    size_t pos = 0, line = 0, number = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view l = text.substr(pos, end - pos);
      pos = end + 1;
      ++line;
      if (l.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      ++number;
      Json rec;
      try {
        rec = Json::parse(l);
      } catch (const Json::exception& e) {
        fail("{}: record {}, line {}: not valid JSON (one record per line expected): {}", name, number, line, e.what());
      }
      r.record(rec, number, line);
    }
  }
  if (r.out.empty()) fail("{}: no records", name);
  return std::move(r.out);
}

std::vector<ChatRecord> read_chat_records(const std::string& path, ChatFormat format,
                                          const std::map<std::string, std::string>& placeholders) {
  return parse_chat_records(read_file(path), path, format, placeholders);
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

}  // namespace baimo
