// learn_bpe_merges: the byte-level BPE merge loop over a table of pre-token counts.
// Contract:
// - Token ids 0..255 are the single bytes in GPT-2's byte order (id i = gpt2_byte_order()[i]:
//   '!'..'~', '¡'..'¬', '®'..'ÿ', then the remaining bytes 0x00..0x20, 0x7F..0xA0, 0xAD), as in
//   GPT-2 / Qwen2 vocabularies. Merge k creates token 256 + k from the pair (left, right).
// - Each step merges the adjacent pair with the highest count (count = sum over words of word
//   count × adjacent occurrences, overlapping ones included, as in Hugging Face's trainer); ties go
//   to the smaller left id, then the smaller right id. A merge replaces occurrences left to right. The result depends only on the multiset of
//   (word, count): not on word order, threads or hash layout.
// - Stops after max_merges merges, or when the best pair's count is below min_frequency (>= 1).
// Cost: incremental pair counts (pair -> count, pair -> words holding it) and a max-heap with lazy
// invalidation, so a merge touches only the words that contain its pair.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace baimo {

class Progress;

const std::array<uint8_t, 256>& gpt2_byte_order();

struct WordCount {
  std::string_view bytes;
  uint64_t count;
};

struct BpeMerges {
  std::vector<std::pair<uint32_t, uint32_t>> merges;  // merge k: (left id, right id) -> 256 + k
  std::vector<uint64_t> merge_counts;                 // the pair count when merge k was chosen
  std::vector<std::string> token_bytes;               // id -> raw bytes, 256 + merges.size() entries
};

BpeMerges learn_bpe_merges(const std::vector<WordCount>& words, size_t max_merges,
                           uint64_t min_frequency = 1, Progress* progress = nullptr);

}  // namespace baimo
