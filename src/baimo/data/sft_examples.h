// SFT examples: chat records -> token ids with a train mask (the loss is on answers only).
// encode_sft_examples renders each record with render_chat_ids (the one chat template spec) over
// template_messages(record) (tools in the system prompt) and marks mask[i] = 1 for the tokens of
// every assistant span: the answer's content tokens and its end-of-turn token (<|im_end|>,
// <|eot_id|>, Plain's "\n\n"), 0 elsewhere. A tokenizer with add_bos() gets its BOS in front, once,
// as infer's prompt encoding does. Template markers the tokenizer lacks are encoded as text: add
// them first (tokenizer/add_special_tokens.h).
// Length (max_len > 0): a record whose ids are longer is
//   - Overflow::Skip: left out and counted in stats.skipped;
//   - Overflow::Truncate (default): the earliest whole exchanges (a user turn through the answers
//     and tool turns up to the next user turn; the system prompt always stays) are dropped one at a
//     time while more than one remains, until the ids fit: whole turns keep every kept answer
//     intact with its prompt (LLaMA-Factory instead cuts every turn's prompt and answer in
//     proportion, TRL cuts the sequence's end); if the last exchange alone is still too long its ids
//     are cut to max_len from the end (TRL's truncation_mode "keep_start"), so the answer loses its
//     tail (and its end-of-turn). Counted in stats.truncated. A record left with no answer token
//     inside max_len (the prompt alone fills it) is left out, counted in stats.no_answer (and in
//     stats.truncated).
// Nothing is dropped silently: records == examples + skipped + no_answer.
// held_out_records: a deterministic split per record: a seeded permutation (splitmix64 +
// Fisher-Yates, the same on every platform) of 0..n-1 puts its first round(fraction * n) records
// (at least one when fraction > 0 and n >= 2, never all) in the held-out set.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "baimo/data/chat_records.h"
#include "baimo/tokenizer/chat_template.h"
#include "baimo/tokenizer/tokenizer.h"
#include "baimo/util/error.h"

namespace baimo {

struct SftExample {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;  // 1 = an answer token (trained on), one per id
  size_t record = 0;          // index of its record in the input span
};

enum class SftOverflow { Truncate, Skip };

struct SftEncodeOptions {
  ChatTemplateKind kind = ChatTemplateKind::ChatML;
  size_t max_len = 0;  // 0 = no limit
  SftOverflow overflow = SftOverflow::Truncate;
};

struct SftStats {
  size_t records = 0;        // records read
  size_t examples = 0;       // examples produced
  size_t truncated = 0;      // examples that lost exchanges or tokens to max_len
  size_t skipped = 0;        // records longer than max_len left out (Overflow::Skip)
  size_t no_answer = 0;      // records left out: no answer token within max_len
  size_t tokens = 0;         // ids in the examples
  size_t answer_tokens = 0;  // mask ones in the examples
  size_t longest = 0;        // longest example, in tokens
};

struct SftDataset {
  std::vector<SftExample> examples;
  SftStats stats;
};

// Records are encoded in parallel (OpenMP); the result does not depend on the thread count (an
// error is the first failing record's).
SftDataset encode_sft_examples(const Tokenizer& tok, std::span<const ChatRecord> records,
                               const SftEncodeOptions& options);
// One record; nullopt when it is left out (skipped or no answer). `stats` counts it either way.
// `index` becomes SftExample::record.
std::optional<SftExample> encode_sft_example(const Tokenizer& tok, const ChatRecord& record,
                                             const SftEncodeOptions& options, SftStats& stats, size_t index);

// held[i] == 1: record i is held out. fraction in [0, 1), else a baimo::Error.
std::vector<uint8_t> held_out_records(size_t n, double fraction, uint64_t seed);
// Splits examples by held_out_records(records, ...) on SftExample::record.
struct SftSplit {
  std::vector<SftExample> train, held_out;
};
SftSplit split_sft_examples(std::vector<SftExample> examples, size_t records, double fraction, uint64_t seed);

// The same for any example type with a `record` index (preference_examples.h): appends to train / held_out.
template <class Example>
void split_by_record(std::vector<Example> examples, size_t records, double fraction, uint64_t seed,
                     std::vector<Example>& train, std::vector<Example>& held_out) {
  const std::vector<uint8_t> held = held_out_records(records, fraction, seed);
  for (Example& e : examples) {
    if (e.record >= records) fail("split: an example of record {} but only {} records", e.record, records);
    (held[e.record] ? held_out : train).push_back(std::move(e));
  }
}

// Runs encode(k) for k in [0, n) in parallel (OpenMP); when some throw, rethrows the error of the
// lowest k (the same on any thread count). The record loop of the SFT and preference encoders.
void for_each_record_parallel(size_t n, const std::function<void(size_t)>& encode);

// Rendered chat ids as training ids, with the tokenizer's BOS in front when add_bos() and the ids
// do not already start with it (Llama-3's <|begin_of_text|>), as infer's prompt encoding does.
std::vector<int32_t> chat_ids_with_bos(const Tokenizer& tok, std::span<const uint32_t> ids);

}  // namespace baimo
