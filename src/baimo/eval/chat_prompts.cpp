#include "baimo/eval/chat_prompts.h"

#include "baimo/data/chat_json.h"
#include "baimo/data/chat_records.h"
#include "baimo/data/preference_records.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::eval {
namespace {

using chat_json::Json;

// What a chat-records file holds: preference pairs, prompts only, or SFT conversations.
enum class RecordsKind { Pairs, Prompts, Sft };

// The first record decides; invalid JSON is left for the readers to report with its line.
RecordsKind kind_of(std::string_view text, const std::string& name) {
  RecordsKind k = RecordsKind::Sft;
  bool seen = false;
  try {
    chat_json::for_each_json_record(text, name, [&](const Json& rec, size_t, size_t) {
      if (seen) return;
      seen = true;
      if (!rec.is_object()) return;
      if (rec.contains("chosen")) k = RecordsKind::Pairs;
      else if (rec.contains("prompt") && rec["prompt"].is_string()) k = RecordsKind::Prompts;
      else if (auto m = rec.find("messages"); m != rec.end() && m->is_array() && !m->empty() && m->back().is_object()) {
        const auto role = m->back().find("role");
        if (role == m->back().end() || !role->is_string() || *role != "assistant") k = RecordsKind::Prompts;
      }
    });
  } catch (const Error&) {
    if (!seen) throw;  // the first record is bad: report it
  }
  return k;
}

ChatPrompt from_record(ChatRecord r) {
  ChatPrompt p;
  p.where = r.where;
  p.messages = template_messages(r);  // tools into the system prompt
  return p;
}

}  // namespace

std::vector<ChatPrompt> parse_chat_prompts(std::string_view text, const std::string& name, size_t limit) {
  std::vector<ChatPrompt> out;
  switch (kind_of(text, name)) {
    case RecordsKind::Pairs:
      for (PreferenceRecord& r : parse_preference_records(text, name)) {
        ChatRecord c;
        c.messages = std::move(r.prompt);
        c.tools = std::move(r.tools);
        c.where = std::move(r.where);
        out.push_back(from_record(std::move(c)));
      }
      break;
    case RecordsKind::Prompts:
      chat_json::for_each_json_record(text, name, [&](const Json& rec, size_t number, size_t line) {
        const chat_json::Where w{chat_json::record_where(name, number, line)};
        if (!rec.is_object()) w.bad("record", "expected a JSON object with \"prompt\" or \"messages\"");
        chat_json::TurnBuilder b(w);
        const std::string tools = chat_json::tools_text(w, rec);
        if (rec.contains("prompt")) {
          const std::string system = w.optional_string(rec, "system", "system");
          if (!system.empty()) b.system(system, "system");
          b.prompt(w.nonempty_string(rec["prompt"], "prompt"), false, "prompt");
          out.push_back(from_record(b.finish_prompt("prompt", tools)));
        } else if (rec.contains("messages")) {
          chat_json::openai_messages(w, rec["messages"], "messages", b);
          out.push_back(from_record(b.finish_prompt("messages", tools)));
        } else {
          w.bad("prompt", "expected a \"prompt\" (string) or \"messages\" (list) field, as the file's first record has");
        }
        if (auto a = rec.find("answer"); a != rec.end() && !a->is_null()) {
          if (a->is_string()) out.back().answer = a->get<std::string>();
          else if (a->is_number()) out.back().answer = a->dump();
          else w.bad("answer", "expected a string or a number");
        }
      });
      break;
    case RecordsKind::Sft:
      for (ChatRecord& r : parse_chat_records(text, name)) {
        ChatPrompt p = from_record(std::move(r));
        size_t last = p.messages.size();
        while (last > 0 && p.messages[last - 1].role != "assistant") --last;
        if (last == 0) fail("{}: no assistant turn to leave out", p.where);
        p.messages.resize(last - 1);
        out.push_back(std::move(p));
      }
      break;
  }
  if (out.empty()) fail("{}: no prompts", name);
  if (limit > 0 && out.size() > limit) out.resize(limit);
  return out;
}

std::vector<ChatPrompt> read_chat_prompts(const std::string& path, size_t limit) {
  return parse_chat_prompts(read_file_gunzip(path), path, limit);
}

std::string question_text(const std::vector<ChatMessage>& messages) {
  size_t users = 0, others = 0;
  for (const ChatMessage& m : messages) {
    if (m.role == "user") ++users;
    else if (m.role != "system") ++others;
  }
  if (users == 1 && others == 0 && !messages.empty()) return messages.back().content;
  std::string out;
  for (const ChatMessage& m : messages) {
    if (!out.empty()) out += "\n\n";
    out += m.role == "user" ? "User: " : m.role == "assistant" ? "Assistant: " : m.role == "system" ? "System: " : m.role + ": ";
    out += m.content;
  }
  return out;
}

}  // namespace baimo::eval
