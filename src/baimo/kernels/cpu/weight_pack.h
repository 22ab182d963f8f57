// Row-interleaved in-memory layout of Q8_0 / Q4_0 weights for fast matrix-vector products.
// GGUF files (and WeightMatrix::data) keep ggml's layout, one row of blocks after another; at load
// time a matrix may also be repacked into groups of kPackRows (16) rows so that one 512-bit vector
// holds 4 consecutive quants of each of 16 rows: the kernels then compute 16 output rows per
// integer-dot instruction, with one broadcast of 4 activation quants, and apply the 16 scales of
// a block with one vector multiply-add (no horizontal sums).
// Layout: groups g = 0 .. ceil(rows/16)-1, each a contiguous run of `blocks` (cols/32) entries:
//   Q4_0 entry (288 bytes): f16 d[16] (row order) | 4 chunks c = 0..3 of 64 bytes, chunk c holding
//        for row r = 0..15 the 4 bytes qs[4c .. 4c+3] of that row's block (low nibbles: elements
//        4c..4c+3, high nibbles: elements 16+4c..16+4c+3).
//   Q8_0 entry (544 bytes): f16 d[16] | 8 chunks c = 0..7 of 64 bytes, chunk c holding for each
//        row the 4 quants 4c .. 4c+3.
//   Q8_0_S24 entry (352 bytes; 2:4-sparse, quant/sparse_2of4.h): f16 d[16] | u32 idx[16] (row r's
//        block idx bytes: byte c = the 2-bit positions of kept values 4c .. 4c+3) | 4 chunks c = 0..3
//        of 64 bytes, chunk c holding for each row its kept quants 4c .. 4c+3 (from inputs 8c .. 8c+7).
// Rows past `rows` in the last group are zero (scale 0, quants 0): computed, never stored.
// The values are exactly ggml's: a packed matrix gives the same integer block dots as the rows.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "baimo/kernels/cpu/weight_matmul.h"

namespace baimo::cpu {

constexpr int64_t kPackRows = 16;

// Bytes of one group entry (one block of 16 rows).
constexpr size_t packed_entry_bytes(DType t) {
  return t == DType::Q4_0 ? 32 + 256 : t == DType::Q8_0_S24 ? 32 + 64 + 256 : 32 + 512;
}
// Whether pack_weights supports w (Q8_0, Q4_0 or Q8_0_S24 with cols % 32 == 0).
bool packable(const WeightMatrix& w);
size_t packed_bytes(const WeightMatrix& w);

// Writes the packed copy of w (ggml row layout) into dst (packed_bytes(w) bytes, 64-byte aligned
// for best speed). Parallel over groups. baimo::Error if !packable(w).
void pack_weights(const WeightMatrix& w, uint8_t* dst);
// Allocates (64-byte aligned), packs, and points w.packed at the result; returns the owner.
std::shared_ptr<const void> pack_weights_into(WeightMatrix& w);
// A Q8_0_S24 matrix as packed dense Q8_0 (for CPUs without the sparse kernel's VBMI): w becomes
// Q8_0 with the packed copy alone (data = nullptr); same products. Returns the owner.
std::shared_ptr<const void> pack_expanded_q8_0(WeightMatrix& w);

// The view of rows [r0, r0 + n) of w (data and packed both offset). With a packed copy, r0 must be a
// multiple of kPackRows and n too unless the slice ends at w.rows (baimo::Error otherwise).
WeightMatrix row_slice(const WeightMatrix& w, int64_t r0, int64_t n);

}  // namespace baimo::cpu
