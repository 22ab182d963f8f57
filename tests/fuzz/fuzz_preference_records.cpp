// libFuzzer target: arbitrary bytes as a preference data file (JSON array or JSONL; ShareGPT pairs,
// OpenAI / TRL, Anthropic HH records). Reading must either succeed or throw baimo::Error; on success
// every pair keeps the reader's contract (roles, order, exchanges, two different non-empty answers)
// and its prompt renders as text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "baimo/data/chat_records.h"
#include "baimo/data/preference_records.h"
#include "baimo/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    baimo::PreferenceReadStats st;
    const auto recs = baimo::parse_preference_records(in, "fuzz.jsonl", &st);
    if (st.pairs != recs.size() || st.records < st.pairs + st.empty_answer + st.turn_order) std::abort();
    for (const baimo::PreferenceRecord& r : recs) {
      if (r.prompt.empty() || r.prompt.back().role != "user" || r.exchanges.empty()) std::abort();
      if (r.chosen.empty() || r.rejected.empty() || r.chosen == r.rejected) std::abort();
      for (size_t i = 0; i < r.prompt.size(); ++i) {
        const std::string& role = r.prompt[i].role;
        if (role == "system" ? i != 0 : role != "user" && role != "assistant") std::abort();
      }
      for (size_t e : r.exchanges)
        if (e >= r.prompt.size() || r.prompt[e].role != "user") std::abort();
      baimo::ChatRecord c;
      c.messages = r.prompt;
      c.exchanges = r.exchanges;
      c.tools = r.tools;
      (void)baimo::render_chat(baimo::ChatTemplateKind::ChatML, baimo::template_messages(c), true);
    }
  } catch (const baimo::Error&) {
  }
  return 0;
}
