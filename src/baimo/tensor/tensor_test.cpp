#include "baimo/tensor/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "baimo/tensor/arena.h"
#include "baimo/util/error.h"

using namespace baimo;

TEST(Tensor, ShapesAndHelpers) {
  Tensor t = Tensor::zeros({2, 3, 4});
  EXPECT_EQ(t.dim(), 3);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.shape().str(), "(2, 3, 4)");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data<float>()) % 64, 0u);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(t.data<float>()[i], 0.f);
  Tensor v = t.view({6, 4});
  v.data<float>()[5] = 3.f;
  EXPECT_EQ(t.data<float>()[5], 3.f);  // shared storage
  Tensor c = t.clone();
  c.data<float>()[5] = 1.f;
  EXPECT_EQ(t.data<float>()[5], 3.f);
  EXPECT_THROW(t.view({5, 5}), Error);
  EXPECT_THROW(Tensor::from_data({2}, std::vector<float>{1}), Error);
  EXPECT_THROW((Shape{1, 2, 3, 4, 5}), Error);
  Tensor ids = Tensor::from_ids({3}, std::vector<int32_t>{7, 8, 9});
  EXPECT_EQ(ids.dtype(), DType::I32);
  EXPECT_EQ(ids.data<int32_t>()[2], 9);
}

TEST(Tensor, WrapKeepsExternalMemoryAlive) {
  auto buf = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4});
  Tensor w = Tensor::wrap({2, 2}, DType::F32, buf->data(), buf);
  std::weak_ptr<std::vector<float>> weak = buf;
  buf.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(w.data<float>()[3], 4.f);
  w = Tensor();
  EXPECT_TRUE(weak.expired());
}

TEST(Arena, ReusesOneBlockAfterReset) {
  Arena a(1024);
  void* first = a.alloc_bytes(100);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 64, 0u);
  for (int i = 0; i < 10; ++i) a.alloc_bytes(1000);  // forces several blocks
  const size_t hw = a.high_water();
  EXPECT_GE(hw, 10u * 1000);
  a.reset();
  const size_t cap = a.capacity();
  EXPECT_GE(cap, hw);
  void* p = a.alloc_bytes(100);
  for (int i = 0; i < 10; ++i) a.alloc_bytes(1000);
  a.reset();
  EXPECT_EQ(a.capacity(), cap);  // no new block
  EXPECT_EQ(a.alloc_bytes(100), p);
  Tensor t = a.alloc_zeros({3, 5});
  EXPECT_EQ(t.data<float>()[14], 0.f);
}
