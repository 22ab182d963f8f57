#include "baimo/tokenizer/bpe_merges.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace bpe_merges_test {
using namespace baimo;

std::vector<std::string> merged_strings(const BpeMerges& m) {
  std::vector<std::string> out;
  for (size_t k = 0; k < m.merges.size(); ++k) out.push_back(m.token_bytes[256 + k]);
  return out;
}

// Reference: recount every pair from scratch before each merge.
std::vector<std::pair<uint32_t, uint32_t>> naive_merges(const std::vector<WordCount>& words, size_t n,
                                                        uint64_t min_freq) {
  std::array<uint32_t, 256> id_of{};
  for (int i = 0; i < 256; ++i) id_of[gpt2_byte_order()[i]] = i;
  std::vector<std::vector<uint32_t>> ws;
  for (auto& w : words) {
    ws.emplace_back();
    for (unsigned char c : w.bytes) ws.back().push_back(id_of[c]);
  }
  std::vector<std::pair<uint32_t, uint32_t>> merges;
  for (uint32_t z = 256; merges.size() < n; ++z) {
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> counts;
    for (size_t i = 0; i < ws.size(); ++i)
      for (size_t j = 0; j + 1 < ws[i].size(); ++j) counts[{ws[i][j], ws[i][j + 1]}] += words[i].count;
    std::pair<uint32_t, uint32_t> best{};
    uint64_t bc = 0;
    for (auto& [p, c] : counts)
      if (c > bc) bc = c, best = p;  // map order: smallest pair wins ties
    if (bc == 0 || bc < min_freq) break;
    merges.push_back(best);
    for (auto& w : ws) {
      std::vector<uint32_t> o;
      for (size_t j = 0; j < w.size();) {
        if (j + 1 < w.size() && w[j] == best.first && w[j + 1] == best.second) o.push_back(z), j += 2;
        else o.push_back(w[j++]);
      }
      w = o;
    }
  }
  return merges;
}

TEST(BpeMerges, Gpt2ByteOrderIsAPermutationStartingWithPrintables) {
  const auto& o = gpt2_byte_order();
  EXPECT_EQ(o[0], '!');
  EXPECT_EQ(o[93], '~');
  EXPECT_EQ(o[94], 0xA1);
  EXPECT_EQ(o[188], 0x00);  // first of the remapped bytes, GPT-2's 'Ā' (id 188)
  EXPECT_EQ(o[220 - 0], ' ');  // GPT-2's 'Ġ' is id 220
  std::vector<int> seen(256);
  for (auto b : o) seen[b]++;
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
}

// The hand-worked example: pair counts u+g 20, p+u 17, u+n 16, h+u 15, ... ; then
// (h,ug) 15, (p,un) 12, a tie at 5 between (p,ug) and (hug,s) won by the smaller left id 'p'.
TEST(BpeMerges, HandCheckedOrder) {
  std::vector<WordCount> words = {{"hug", 10}, {"pug", 5}, {"pun", 12}, {"bun", 4}, {"hugs", 5}};
  BpeMerges m = learn_bpe_merges(words, 100);
  EXPECT_EQ(merged_strings(m),
            (std::vector<std::string>{"ug", "un", "hug", "pun", "pug", "hugs", "bun"}));
  EXPECT_EQ(m.merge_counts, (std::vector<uint64_t>{20, 16, 15, 12, 5, 5, 4}));
  EXPECT_EQ(m.token_bytes.size(), 256u + 7);
}

TEST(BpeMerges, OverlappingRunsAndLimits) {
  // "aaaa" x3: (a,a) counts 3 per word -> 9; after merging: "zz" -> (z,z) 3.
  BpeMerges m = learn_bpe_merges({{"aaaa", 3}, {"aaa", 1}}, 10);
  EXPECT_EQ(merged_strings(m), (std::vector<std::string>{"aa", "aaaa", "aaa"}));
  EXPECT_EQ(m.merge_counts, (std::vector<uint64_t>{11, 3, 1}));
  EXPECT_EQ(learn_bpe_merges({{"aaaa", 3}, {"aaa", 1}}, 1).merges.size(), 1u);
  EXPECT_EQ(learn_bpe_merges({{"aaaa", 3}, {"aaa", 1}}, 10, 3).merges.size(), 2u);  // min frequency
  EXPECT_EQ(learn_bpe_merges({{"x", 100}}, 10).merges.size(), 0u);
}

TEST(BpeMerges, MatchesFromScratchRecountOnRandomWords) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::string> store;
    int nw = 1 + rng() % 60;
    for (int i = 0; i < nw; ++i) {
      std::string s;
      int len = 1 + rng() % 12;
      for (int j = 0; j < len; ++j) s.push_back(static_cast<char>("abcab\xe4\xb8\x80 "[rng() % 9]));
      store.push_back(s);
    }
    std::vector<WordCount> words;
    for (auto& s : store) words.push_back({s, 1 + rng() % 7});
    uint64_t minf = trial % 3 == 0 ? 2 : 1;
    BpeMerges m = learn_bpe_merges(words, 80, minf);
    EXPECT_EQ(m.merges, naive_merges(words, 80, minf)) << "trial " << trial;
    std::shuffle(words.begin(), words.end(), rng);
    EXPECT_EQ(learn_bpe_merges(words, 80, minf).merges, m.merges) << "order matters, trial " << trial;
  }
}

}  // namespace bpe_merges_test
