// Preference records: pairs of answers to one prompt (reward models, DPO) from data files.
// read_preference_records reads a JSON array or JSONL file (gzipped when the path ends in .gz);
// each record's format is detected from its fields, and every record must be one of:
//   ShareGPT pairs (LLaMA-Factory): {"conversations": [{"from", "value"}...], "chosen": {"from":
//       "gpt", "value"}, "rejected": {...}, "system"?: str, "tools"?}: the conversation follows
//       chat_records.h's ShareGPT rules but ends with a human (or observation) turn; an answer's
//       "from" is gpt|assistant|function_call.
//   OpenAI / TRL conversational: {"prompt"|"messages": [{"role", "content"}...], "chosen",
//       "rejected", "tools"?} ("prompt" wins when both are there): the prompt follows chat_records.h's
//       OpenAI rules but ends with a user (or tool) turn; an answer is a string, an assistant message
//       {"role": "assistant", "content", "tool_calls"?}, or a list of messages whose last is that
//       answer and whose others, if any, are the prompt again (TRL; UltraFeedback's full chats).
//   TRL standard text: {"prompt": str, "chosen": str, "rejected": str}: the prompt is one user turn.
//   Anthropic HH: {"chosen": str, "rejected": str}, both full transcripts "\n\nHuman: ...\n\nAssistant:
//       ...". Split on "\n\nHuman:" / "\n\nAssistant:" (contents trimmed); the prompt is every turn
//       before the last (an Assistant turn), and must be the same in both; the answers are the last turns.
// Errors (baimo::Error naming the file, "record N" (+ ", line L" for JSONL) and the field): invalid
// JSON, a missing or wrongly typed field, an unknown role or sender, an empty prompt, a prompt that
// does not end with a user turn, an empty answer, chosen == rejected, HH transcripts whose prompts
// differ ("chosen and rejected share no prompt").
// Two defects of HH transcripts are not errors but skipped pairs, counted in PreferenceReadStats
// (the shared hh-rlhf harmless-base test file has 2312 lines: 4 have an empty final answer, 9 have
// two Assistant turns in a row, a transcription slip of the dataset, among them the 5 whose
// chosen and rejected prompts differ; 2299 pairs remain):
//   empty_answer: the last Assistant turn of chosen or rejected is empty;
//   turn_order:   the turns of chosen or rejected do not alternate Human, Assistant, ... .
// In every other format these are errors, like the rest. A file with no pair left is an error.
// Pass `stats` to report the skipped pairs (the reader drops them either way).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/tokenizer/chat_template.h"

namespace baimo {

struct PreferenceRecord {
  std::vector<ChatMessage> prompt;  // optional system, then user/assistant turns, ending with a user turn
  std::vector<size_t> exchanges;    // index in prompt of each exchange's first turn (ChatRecord::exchanges)
  std::string chosen, rejected;     // the two assistant answers to the prompt
  std::string tools;                // JSON text of a tool list, or empty (ChatRecord::tools)
  std::string where;                // "file: record N" (", line L" for JSONL)
};

struct PreferenceReadStats {
  size_t records = 0;       // records in the file
  size_t pairs = 0;         // records returned
  size_t empty_answer = 0;  // HH pairs skipped: an empty final answer
  size_t turn_order = 0;    // HH pairs skipped: turns that do not alternate
  std::string first_skipped;  // `where` of the first skipped record, "" when none
};

std::vector<PreferenceRecord> read_preference_records(const std::string& path, PreferenceReadStats* stats = nullptr);
// The same from text (`name` stands for the file in messages and `where`).
std::vector<PreferenceRecord> parse_preference_records(std::string_view text, const std::string& name,
                                                       PreferenceReadStats* stats = nullptr);

}  // namespace baimo
