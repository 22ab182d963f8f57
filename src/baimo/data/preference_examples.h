// Preference examples: preference records -> token ids of a prompt and its two answers (reward
// models, DPO). Rendering is SFT's (sft_examples.h): render_chat_ids over template_messages (tools
// in the system prompt). prompt = the prompt's messages with the generation prompt (ChatML
// "<|im_start|>assistant\n"), the tokenizer's BOS in front when add_bos(); an answer = the tokens of
// the whole conversation (prompt messages + that assistant answer) after the prompt's, through the
// answer's end of turn (<|im_end|>, <|eot_id|>, Plain's "\n\n"; not ChatML's "\n" after it), so
// prompt + chosen is exactly the start of render(prompt + chosen), and an answer is the tokens SFT
// trains on (Plain's answer also starts with the " " after "Assistant:" when that is a token of its
// own: the generation prompt ends before it). When the whole conversation's tokens do not start
// with the prompt's (an answer whose first bytes merge with the generation prompt's last token,
// e.g. one starting with "\n" under ChatML), that is a baimo::Error naming the record, the template
// and the answer.
// Length (max_len > 0; prompt + answer, for each answer): when prompt + the longer answer is over
// max_len (TRL's DPO truncation, keep_end, with SFT's whole-exchange step first):
//   1. the earliest whole exchanges of the prompt are dropped (the system prompt stays) one at a
//      time while more than one remains, until it fits;
//   2. if still over, a prompt longer than max_prompt_len (0: max_len / 2) keeps its last max_prompt_len tokens
//      (a left cut; the BOS, when the prompt starts with it, stays in front);
//   3. answers over max_len - prompt lose their tails (and with them the end of turn).
// Such a pair counts in stats.truncated. Steps 2 and 3 always leave an answer token (max_prompt_len
// < max_len, else a baimo::Error), so stats.skipped counts only pairs whose answers become
// identical after the cut: records == examples + skipped. max_prompt_len alone (max_len = 0) does nothing.
// Records are encoded in parallel (OpenMP); the result does not depend on the thread count, and an
// error is the one of the first failing record.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "baimo/data/preference_records.h"
#include "baimo/tokenizer/chat_template.h"
#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

struct PreferenceExample {
  std::vector<int32_t> prompt;  // the rendered prompt with the generation prompt (BOS when add_bos())
  std::vector<int32_t> chosen;  // answer tokens + the template's end of turn
  std::vector<int32_t> rejected;
  size_t record = 0;  // index in the input span
};

struct PreferenceEncodeOptions {
  ChatTemplateKind kind = ChatTemplateKind::ChatML;
  size_t max_len = 0;         // 0 = no limit; applies to prompt + answer, each of the two
  size_t max_prompt_len = 0;  // 0 = max_len / 2 when truncation is needed
};

struct PreferenceStats {
  size_t records = 0;    // records encoded
  size_t examples = 0;   // examples produced
  size_t truncated = 0;  // examples (or skipped pairs) that lost exchanges or tokens to max_len
  size_t skipped = 0;    // pairs left out: chosen == rejected after truncation
  size_t tokens = 0;     // prompt + chosen + rejected ids of the examples
  size_t longest = 0;    // longest prompt + answer, in tokens
};

struct PreferenceDataset {
  std::vector<PreferenceExample> examples;
  PreferenceStats stats;
};

PreferenceDataset encode_preference_examples(const Tokenizer& tok, std::span<const PreferenceRecord> records,
                                             const PreferenceEncodeOptions& options);
// One record; nullopt when it is skipped. `stats` counts it either way; `index` becomes PreferenceExample::record.
std::optional<PreferenceExample> encode_preference_example(const Tokenizer& tok, const PreferenceRecord& record,
                                                           const PreferenceEncodeOptions& options,
                                                           PreferenceStats& stats, size_t index);

// Splits examples by held_out_records(records, fraction, seed) on PreferenceExample::record (as split_sft_examples).
struct PreferenceSplit {
  std::vector<PreferenceExample> train, held_out;
};
PreferenceSplit split_preference_examples(std::vector<PreferenceExample> examples, size_t records, double fraction,
                                          uint64_t seed);

}  // namespace baimo
