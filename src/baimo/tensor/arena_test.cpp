// Arena::mark / rewind: memory allocated after a mark is handed out again after rewind (also when
// the scratch spilled into a new block), memory before it is untouched, a stale mark is an error.
#include "baimo/tensor/arena.h"

#include <gtest/gtest.h>

#include "baimo/util/error.h"

using namespace baimo;

TEST(Arena, RewindHandsOutTheMemoryAfterTheMarkAgain) {
  Arena a(1 << 12);
  Tensor keep = a.alloc({16});
  keep.fill(3.f);
  const Arena::Mark m = a.mark();
  Tensor scratch = a.alloc({64});
  const size_t used = a.used();
  a.rewind(m);
  EXPECT_EQ(a.used(), m.used);
  EXPECT_LT(a.used(), used);
  Tensor again = a.alloc({64});
  EXPECT_EQ(again.raw(), scratch.raw());
  EXPECT_EQ(keep.data<float>()[15], 3.f);
}

TEST(Arena, RewindAcrossBlocksReusesThem) {
  Arena a(1 << 10);
  Tensor keep = a.alloc({128});  // 512 bytes of the 1 KiB first block
  const Arena::Mark m = a.mark();
  a.alloc({1024});  // spills into a second block
  const size_t blocks_capacity = a.capacity();
  a.rewind(m);
  Tensor small = a.alloc({64});  // fits after `keep` in the first block
  EXPECT_EQ(static_cast<char*>(small.raw()), static_cast<char*>(keep.raw()) + 512);
  a.alloc({1024});  // the second block again: no new block
  EXPECT_EQ(a.capacity(), blocks_capacity);
}

TEST(Arena, AStaleMarkIsAnError) {
  Arena a(1 << 10);
  a.alloc({16});
  const Arena::Mark m = a.mark();
  a.reset();
  EXPECT_THROW(a.rewind(m), Error);
}
