#include "baimo/kernels/cpu/weight_pack.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "baimo/kernels/cpu/q_blocks.h"
#include "baimo/util/error.h"

namespace baimo::cpu {

bool packable(const WeightMatrix& w) {
  return (w.type == DType::Q8_0 || w.type == DType::Q4_0 || w.type == DType::Q8_0_S24) && w.cols > 0 &&
         w.cols % 32 == 0 && w.rows > 0;
}

size_t packed_bytes(const WeightMatrix& w) {
  const size_t groups = static_cast<size_t>((w.rows + kPackRows - 1) / kPackRows);
  return groups * static_cast<size_t>(w.cols / 32) * packed_entry_bytes(w.type);
}

void pack_weights(const WeightMatrix& w, uint8_t* dst) {
  if (!packable(w))
    fail("pack_weights: a {} matrix of {}x{} cannot be packed (Q8_0 / Q4_0 / Q8_0_S24 with columns a multiple of 32)",
         dtype_info(w.type).name, w.rows, w.cols);
  const bool s24 = w.type == DType::Q8_0_S24;
  const size_t block_bytes = static_cast<size_t>(dtype_info(w.type).block_bytes);
  const size_t idx_bytes = s24 ? 4 : 0;                  // per row: its block's idx word
  const size_t quant_bytes = block_bytes - 2 - idx_bytes;
  const size_t quant_start = 32 + 16 * idx_bytes;        // after d[16] (and idx[16])
  const size_t entry = packed_entry_bytes(w.type);
  const int64_t blocks = w.cols / 32;
  const int64_t groups = (w.rows + kPackRows - 1) / kPackRows;
  const size_t row_bytes = w.row_bytes();
  const auto* src = static_cast<const uint8_t*>(w.data);
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < groups; ++g) {
    uint8_t* out = dst + static_cast<size_t>(g * blocks) * entry;
    for (int64_t k = 0; k < blocks; ++k, out += entry) {
      std::memset(out, 0, entry);
      for (int64_t r = 0; r < kPackRows; ++r) {
        const int64_t row = g * kPackRows + r;
        if (row >= w.rows) break;
        const uint8_t* blk = src + row * row_bytes + k * block_bytes;
        std::memcpy(out + 2 * r, blk, 2);  // f16 scale
        if (s24) std::memcpy(out + 32 + 4 * r, blk + 2, 4);
        for (size_t c = 0; c < quant_bytes / 4; ++c)
          std::memcpy(out + quant_start + c * 64 + 4 * r, blk + 2 + idx_bytes + 4 * c, 4);
      }
    }
  }
}

std::shared_ptr<const void> pack_weights_into(WeightMatrix& w) {
  const size_t n = (packed_bytes(w) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, n);
  if (!p) fail("pack_weights: cannot allocate {} bytes", n);
  std::shared_ptr<const void> owner(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  pack_weights(w, static_cast<uint8_t*>(p));
  w.packed = p;
  return owner;
}

std::shared_ptr<const void> pack_expanded_q8_0(WeightMatrix& w) {
  if (w.type != DType::Q8_0_S24 || !w.data) fail("pack_expanded_q8_0: needs the rows of a Q8_0_S24 matrix");
  std::vector<uint8_t> rows(dtype_bytes(DType::Q8_0, static_cast<size_t>(w.rows * w.cols)));
  const size_t in_rb = w.row_bytes(), out_rb = dtype_bytes(DType::Q8_0, static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t k = 0; k < w.cols / 32; ++k) {
      BlockQ8_0S24 s;
      std::memcpy(&s, static_cast<const uint8_t*>(w.data) + r * in_rb + k * sizeof s, sizeof s);
      const BlockQ8_0 d = expand_block(s);
      std::memcpy(rows.data() + r * out_rb + k * sizeof d, &d, sizeof d);
    }
  WeightMatrix dense{DType::Q8_0, rows.data(), w.rows, w.cols};
  std::shared_ptr<const void> owner = pack_weights_into(dense);
  w = WeightMatrix{DType::Q8_0, nullptr, w.rows, w.cols, dense.packed};
  return owner;
}

WeightMatrix row_slice(const WeightMatrix& w, int64_t r0, int64_t n) {
  if (r0 < 0 || n < 0 || r0 + n > w.rows) fail("row_slice: rows [{}, {}) outside a matrix of {} rows", r0, r0 + n, w.rows);
  WeightMatrix s = w;
  s.rows = n;
  if (w.data) s.data = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(r0) * w.row_bytes();
  if (w.packed) {
    if (r0 % kPackRows != 0 || (n % kPackRows != 0 && r0 + n != w.rows))
      fail("row_slice: rows [{}, {}) of a packed matrix must start and end on {}-row groups", r0, r0 + n, kPackRows);
    const size_t group_bytes = static_cast<size_t>(w.cols / 32) * packed_entry_bytes(w.type);
    s.packed = static_cast<const uint8_t*>(w.packed) + static_cast<size_t>(r0 / kPackRows) * group_bytes;
  }
  return s;
}

}  // namespace baimo::cpu
