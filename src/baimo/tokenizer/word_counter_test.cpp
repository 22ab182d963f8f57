#include "baimo/tokenizer/word_counter.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

using namespace baimo;

TEST(WordCounter, CountsMergesAndGrows) {
  WordCounter a, b;
  std::map<std::string, uint64_t> ref;
  std::mt19937 rng(3);
  for (int i = 0; i < 50000; ++i) {
    std::string w(1 + rng() % 20, 'x');
    for (auto& c : w) c = static_cast<char>('a' + rng() % 4);
    (i % 2 ? a : b).add(w);
    ref[w]++;
  }
  a.add(std::string_view("\0z", 2), 5);
  ref[std::string("\0z", 2)] += 5;
  a.merge_from(b);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(a.size(), ref.size());
  uint64_t total = 0;
  for (auto& [w, c] : ref) {
    EXPECT_EQ(a.count(w), c) << w;
    total += c;
  }
  EXPECT_EQ(a.total(), total);
  auto sorted = a.sorted_entries();
  ASSERT_EQ(sorted.size(), ref.size());
  size_t i = 0;
  for (auto& [w, c] : ref) {
    EXPECT_EQ(sorted[i].first, w);
    EXPECT_EQ(sorted[i].second, c);
    ++i;
  }
  EXPECT_EQ(a.count("never-added"), 0u);
}
