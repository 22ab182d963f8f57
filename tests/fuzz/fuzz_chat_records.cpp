// libFuzzer target: arbitrary bytes as a chat data file (JSON array or JSONL; OpenAI, Alpaca or
// ShareGPT records). Reading must either succeed or throw baimo::Error; on success every record
// keeps the reader's contract (roles, order, exchanges) and its template messages render as text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "baimo/data/chat_records.h"
#include "baimo/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    const auto recs = baimo::parse_chat_records(in, "fuzz.jsonl", baimo::ChatFormat::Auto, {{"name", "N"}});
    for (const baimo::ChatRecord& r : recs) {
      if (r.messages.empty() || r.messages.back().role != "assistant" || r.exchanges.empty()) std::abort();
      for (size_t i = 0; i < r.messages.size(); ++i) {
        const std::string& role = r.messages[i].role;
        if (role == "system" ? i != 0 : role != "user" && role != "assistant") std::abort();
      }
      for (size_t e : r.exchanges)
        if (e >= r.messages.size() || r.messages[e].role != "user") std::abort();
      const auto msgs = baimo::template_messages(r);
      (void)baimo::render_chat(baimo::ChatTemplateKind::ChatML, msgs, false);
    }
  } catch (const baimo::Error&) {
  }
  return 0;
}
