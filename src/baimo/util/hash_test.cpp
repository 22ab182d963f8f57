// Hash64 (util/hash.h): any split of a stream into update() calls gives one digest; a changed byte,
// a longer zero tail or another seed gives another; the values are pinned (the teacher cache format
// stores them: train/teacher_cache.h).
#include "baimo/util/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace hash_test {
using baimo::Hash64;

std::string stream(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) % 251);
  return s;
}

uint64_t digest(const std::string& s, uint64_t seed = 0) {
  Hash64 h(seed);
  h.update(s);
  return h.digest();
}

TEST(Hash64, AnySplitGivesTheSameDigest) {
  const std::string s = stream(1000);
  const uint64_t whole = digest(s);
  for (size_t step : {1, 3, 7, 31, 32, 33, 500}) {
    Hash64 h;
    for (size_t i = 0; i < s.size(); i += step) h.update(s.data() + i, std::min(step, s.size() - i));
    EXPECT_EQ(h.digest(), whole) << "step " << step;
  }
}

TEST(Hash64, ChangesAndPinnedValues) {
  const std::string s = stream(1000);
  std::string t = s;
  t[517] ^= 1;
  EXPECT_NE(digest(t), digest(s));
  EXPECT_NE(digest(s + std::string(1, '\0')), digest(s));  // the length is hashed
  EXPECT_NE(digest(s, 1), digest(s));
  EXPECT_EQ(digest(""), 0x6bd93a66fdaac993ull);  // both from a Python transcription of util/hash.h's words
  EXPECT_EQ(digest(s), 0xc3f5a9dd0c18003dull);
}

}  // namespace hash_test
