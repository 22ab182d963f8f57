#include "baimo/quant/sparse_2of4.h"

#include <cstring>
#include <utility>

#include "baimo/quant/block_formats.h"
#include "baimo/util/error.h"

namespace baimo::quant {

using cpu::BlockQ8_0S24;

int64_t first_2of4_violation(const float* x, size_t n) {
  for (size_t g = 0; g + 4 <= n; g += 4) {
    const int nonzero = (x[g] != 0.0f) + (x[g + 1] != 0.0f) + (x[g + 2] != 0.0f) + (x[g + 3] != 0.0f);
    if (nonzero > 2) return static_cast<int64_t>(g / 4);
  }
  return -1;
}

void quantize_row_q8_0_s24(const float* x, void* dst, size_t n) {
  if (const int64_t g = first_2of4_violation(x, n); g >= 0)
    fail("Q8_0_S24: inputs {}..{} hold more than 2 nonzero values (not 2:4-sparse)", 4 * g, 4 * g + 3);
  auto* out = static_cast<uint8_t*>(dst);
  for (size_t b = 0; b < n / kBlockElems; ++b, x += kBlockElems, out += sizeof(BlockQ8_0S24)) {
    BlockQ8_0 dense;
    quantize_row_q8_0(x, &dense, kBlockElems);
    BlockQ8_0S24 blk{};
    blk.d = dense.d;
    for (int group = 0; group < 8; ++group) {
      // The nonzero positions, then the lowest zero ones until there are two.
      int pos[2], kept = 0;
      for (int i = 0; i < 4 && kept < 2; ++i)
        if (x[4 * group + i] != 0.0f) pos[kept++] = i;
      for (int i = 0; i < 4 && kept < 2; ++i)
        if (x[4 * group + i] == 0.0f) pos[kept++] = i;
      if (pos[0] > pos[1]) std::swap(pos[0], pos[1]);
      for (int s = 0; s < 2; ++s) {
        const int j = 2 * group + s;
        blk.qs[j] = dense.qs[4 * group + pos[s]];
        blk.idx[j / 4] = static_cast<uint8_t>(blk.idx[j / 4] | pos[s] << (2 * (j % 4)));
      }
    }
    std::memcpy(out, &blk, sizeof blk);
  }
}

void expand_row_q8_0_s24(const void* src, void* dst_q8_0, size_t n) {
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst_q8_0);
  for (size_t b = 0; b < n / kBlockElems; ++b, in += sizeof(BlockQ8_0S24), out += sizeof(BlockQ8_0)) {
    BlockQ8_0S24 blk;
    std::memcpy(&blk, in, sizeof blk);
    const BlockQ8_0 dense = cpu::expand_block(blk);
    std::memcpy(out, &dense, sizeof dense);
  }
}

void dequantize_row_q8_0_s24(const void* src, float* y, size_t n) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (size_t b = 0; b < n / kBlockElems; ++b) {
    BlockQ8_0 dense;
    expand_row_q8_0_s24(in + b * sizeof(BlockQ8_0S24), &dense, kBlockElems);
    dequantize_row_q8_0(&dense, y + b * kBlockElems, kBlockElems);
  }
}

}  // namespace baimo::quant
