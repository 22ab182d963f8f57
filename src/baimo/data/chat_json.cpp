#include "baimo/data/chat_json.h"

#include "baimo/data/python_json.h"
#include "baimo/util/error.h"

namespace baimo::chat_json {

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

void Where::bad(const std::string& field, const std::string& expected) const {
  fail("{}: field '{}': {}", where, field, expected);
}
const Json& Where::need(const Json& obj, const char* key, const std::string& field) const {
  auto it = obj.find(key);
  if (it == obj.end()) bad(field, "missing");
  return *it;
}
const std::string& Where::string(const Json& v, const std::string& field) const {
  if (!v.is_string()) bad(field, fmt::format("expected a string, got {}", type_name(v)));
  return v.get_ref<const std::string&>();
}
const std::string& Where::nonempty_string(const Json& v, const std::string& field) const {
  const std::string& s = string(v, field);
  if (s.empty()) bad(field, "expected a non-empty string, got \"\"");
  return s;
}
std::string Where::optional_string(const Json& obj, const char* key, const std::string& field) const {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "";
  return string(*it, field);
}

std::string record_where(const std::string& name, size_t number, size_t line) {
  return line ? fmt::format("{}: record {}, line {}", name, number, line) : fmt::format("{}: record {}", name, number);
}

void for_each_json_record(std::string_view text, const std::string& name,
                          const std::function<void(const Json& record, size_t number, size_t line)>& each) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
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
    for (size_t i = 0; i < all.size(); ++i) each(all[i], i + 1, 0);
    return;
  }
  size_t pos = 0, line = 0, number = 0;  // JSONL
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
    each(rec, number, line);
  }
}

// ---- turn order --------------------------------------------------------------------------------
namespace {

void fill_placeholders(std::string& s, const std::map<std::string, std::string>& placeholders) {
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

}  // namespace

void TurnBuilder::system(const std::string& content, const std::string& field) {
  if (!rec_.messages.empty()) w_.bad(field, "a system message is allowed only as the first message");
  rec_.messages.push_back({"system", content});
}

void TurnBuilder::prompt(const std::string& content, bool tool_result, const std::string& field) {
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

void TurnBuilder::answer(const std::string& content, bool tool_call, const std::string& field) {
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

ChatRecord TurnBuilder::finish(const std::string& field, std::string tools,
                               const std::map<std::string, std::string>& placeholders) {
  if (answers_ == 0 || expect_answer_)
    w_.bad(field, "expected the conversation to end with an assistant turn (the answer to train on)");
  for (ChatMessage& m : rec_.messages) fill_placeholders(m.content, placeholders);
  rec_.tools = std::move(tools);
  rec_.where = w_.where;
  return std::move(rec_);
}

ChatRecord TurnBuilder::finish_prompt(const std::string& field, std::string tools) {
  if (rec_.exchanges.empty()) w_.bad(field, "expected a non-empty prompt (at least one user turn)");
  if (!expect_answer_)
    w_.bad(field, "expected the prompt to end with a user turn or a tool result (the turn the answers reply to)");
  rec_.tools = std::move(tools);
  rec_.where = w_.where;
  return std::move(rec_);
}

// ---- tools -------------------------------------------------------------------------------------
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

namespace {

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
  return qwen_tool_call_text(name, args.dump());
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

}  // namespace

// ---- OpenAI ------------------------------------------------------------------------------------
std::string openai_answer(const Where& w, const Json& m, const std::string& f, bool* tool_call) {
  auto calls = m.find("tool_calls");
  const bool has_calls = calls != m.end() && !calls->is_null() && !(calls->is_array() && calls->empty());
  std::string content = openai_content(w, m, f + ".content", has_calls);
  if (has_calls) {
    if (!calls->is_array()) w.bad(f + ".tool_calls", fmt::format("expected an array, got {}", type_name(*calls)));
    const std::string blocks = tool_calls_text(w, *calls, f + ".tool_calls");
    content = content.empty() ? blocks : content + "\n" + blocks;
  }
  if (tool_call) *tool_call = has_calls;
  return content;
}

void openai_messages(const Where& w, const Json& msgs, const std::string& field, TurnBuilder& b) {
  if (!msgs.is_array()) w.bad(field, fmt::format("expected an array of messages, got {}", type_name(msgs)));
  std::vector<std::string> pending_tools;  // a run of tool messages -> one user turn
  std::string pending_field;
  auto flush_tools = [&] {
    if (pending_tools.empty()) return;
    std::string text;
    for (size_t i = 0; i < pending_tools.size(); ++i) {
      if (i) text += '\n';
      text += qwen_tool_response_text(pending_tools[i]);
    }
    b.prompt(text, true, pending_field);
    pending_tools.clear();
  };
  for (size_t i = 0; i < msgs.size(); ++i) {
    const Json& m = msgs[i];
    const std::string f = fmt::format("{}[{}]", field, i);
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
      bool calls = false;
      std::string content = openai_answer(w, m, f, &calls);
      b.answer(content, calls, f);
    } else {
      w.bad(f + ".role", fmt::format("expected system, user, assistant or tool, got \"{}\"", role));
    }
  }
  flush_tools();
}

// ---- ShareGPT ----------------------------------------------------------------------------------
std::string sharegpt_answer(const Where& w, const Json& t, const std::string& f, bool* tool_call) {
  if (!t.is_object()) w.bad(f, fmt::format("expected a turn object, got {}", type_name(t)));
  const std::string& from = w.string(w.need(t, "from", f + ".from"), f + ".from");
  const std::string& value = w.string(w.need(t, "value", f + ".value"), f + ".value");
  if (tool_call) *tool_call = from == "function_call";
  if (from == "gpt" || from == "assistant") return value;
  if (from == "function_call") {
    Json call = Json::parse(value, nullptr, false);
    if (call.is_discarded()) w.bad(f + ".value", "expected JSON text of a tool call {\"name\", \"arguments\"}, got invalid JSON");
    return tool_calls_text(w, call, f + ".value");
  }
  w.bad(f + ".from", fmt::format("expected an answer (gpt, assistant or function_call), got \"{}\"", from));
}

void sharegpt_turns(const Where& w, const Json& conv, const std::string& field, const std::string& system,
                    TurnBuilder& b) {
  if (!conv.is_array()) w.bad(field, fmt::format("expected an array of turns, got {}", type_name(conv)));
  if (!system.empty()) b.system(system, "system");
  for (size_t i = 0; i < conv.size(); ++i) {
    const Json& t = conv[i];
    const std::string f = fmt::format("{}[{}]", field, i);
    if (!t.is_object()) w.bad(f, fmt::format("expected a turn object, got {}", type_name(t)));
    const std::string& from = w.string(w.need(t, "from", f + ".from"), f + ".from");
    const std::string& value = w.string(w.need(t, "value", f + ".value"), f + ".value");
    if (from == "human" || from == "user") {
      b.prompt(value, false, f);
    } else if (from == "gpt" || from == "assistant" || from == "function_call") {
      bool call = false;
      std::string text = sharegpt_answer(w, t, f, &call);
      b.answer(text, call, f);
    } else if (from == "observation" || from == "tool") {
      b.prompt(qwen_tool_response_text(value), true, f);
    } else if (from == "system") {
      if (i != 0 || !system.empty()) w.bad(f + ".from", "a system turn is allowed only as the first turn (and not with a 'system' field)");
      b.system(value, f);
    } else {
      w.bad(f + ".from", fmt::format("expected human, gpt, function_call, observation or system, got \"{}\"", from));
    }
  }
}

}  // namespace baimo::chat_json
