#include "baimo/kernels/cpu/dequant_gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "baimo/kernels/cpu/q_blocks.h"
#include "baimo/kernels/cpu/weight_pack.h"
#include "baimo/kernels/half_float.h"
#include "baimo/util/error.h"

namespace baimo::cpu {

namespace {

void check(const WeightMatrix& w, const char* op) {
  if (w.type != DType::F32 && w.type != DType::F16 && w.type != DType::BF16 && w.type != DType::Q8_0 &&
      w.type != DType::Q4_0)
    fail("{}: weight type {} is not supported (F32, F16, BF16, Q8_0, Q4_0)", op, dtype_info(w.type).name);
  const bool packed_only = !w.data && w.packed && (w.type == DType::Q8_0 || w.type == DType::Q4_0);
  if (!w.data && !packed_only && w.rows * w.cols > 0) fail("{}: weight ({}, {}) has no data", op, w.rows, w.cols);
  if (w.cols % dtype_info(w.type).block_elems != 0)
    fail("{}: weight columns {} are not a multiple of the {} block size", op, w.cols, dtype_info(w.type).name);
}

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), 1.f, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

// Batch rows per task so that there are about two tasks per thread (at least 32 rows each).
int64_t batch_chunk(int64_t batch, int64_t other_chunks) {
  const int64_t want = 2 * static_cast<int64_t>(omp_get_max_threads());
  if (other_chunks >= want) return batch;
  const int64_t parts = std::min((want + other_chunks - 1) / other_chunks, std::max<int64_t>(1, batch / 32));
  return (batch + parts - 1) / parts;
}

float* scratch() {
  thread_local std::vector<float> buf(static_cast<size_t>(kDequantRows * kDequantCols));
  return buf.data();
}

// W[r0:r1, c0:c1] from the 16-row packed layout (weight_pack.h): for row r of group g and block b, the
// entry (g * blocks + b) holds d[r % 16], then 64-byte chunks with the row's 4 bytes at (r % 16) * 4.
void dequantize_packed_tile(const WeightMatrix& w, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* dst,
                            int64_t ld) {
  const auto* base = static_cast<const uint8_t*>(w.packed);
  const int64_t blocks = w.cols / kBlockElems;
  const size_t eb = packed_entry_bytes(w.type);
  const bool q4 = w.type == DType::Q4_0;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t g = r / kPackRows, i = r % kPackRows;
    float* out = dst + (r - r0) * ld;
    for (int64_t b = c0 / kBlockElems; b * kBlockElems < c1; ++b) {
      const uint8_t* e = base + static_cast<size_t>(g * blocks + b) * eb;
      uint16_t dbits;
      std::memcpy(&dbits, e + 2 * i, sizeof dbits);
      const float d = f16_bits_to_f32(dbits);
      const uint8_t* q = e + 32 + 4 * i;
      float* o = out + b * kBlockElems - c0;
      if (q4) {
        for (int c = 0; c < 4; ++c)
          for (int j = 0; j < 4; ++j) {
            const uint8_t v = q[64 * c + j];
            o[4 * c + j] = d * static_cast<float>((v & 0x0F) - 8);
            o[16 + 4 * c + j] = d * static_cast<float>((v >> 4) - 8);
          }
      } else {
        for (int c = 0; c < 8; ++c)
          for (int j = 0; j < 4; ++j) o[4 * c + j] = d * static_cast<float>(static_cast<int8_t>(q[64 * c + j]));
      }
    }
  }
}

}  // namespace

void dequantize_tile(const WeightMatrix& w, int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* dst, int64_t ld) {
  if (!w.data) return dequantize_packed_tile(w, r0, r1, c0, c1, dst, ld);
  const size_t rb = w.row_bytes();
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t n = c1 - c0;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = base + static_cast<size_t>(r) * rb;
    float* out = dst + (r - r0) * ld;
    switch (w.type) {
      case DType::F32:
        std::copy_n(reinterpret_cast<const float*>(row) + c0, n, out);
        break;
      case DType::F16:
        f16_to_f32_row(reinterpret_cast<const uint16_t*>(row) + c0, out, static_cast<size_t>(n));
        break;
      case DType::BF16:
        bf16_to_f32_row(reinterpret_cast<const uint16_t*>(row) + c0, out, static_cast<size_t>(n));
        break;
      case DType::Q8_0: {
        const auto* b = reinterpret_cast<const BlockQ8_0*>(row) + c0 / kBlockElems;
        for (int64_t k = 0; k < n; k += kBlockElems, ++b) {
          const float d = f16_bits_to_f32(b->d);
          for (int j = 0; j < kBlockElems; ++j) out[k + j] = d * static_cast<float>(b->qs[j]);
        }
        break;
      }
      case DType::Q4_0: {
        const auto* b = reinterpret_cast<const BlockQ4_0*>(row) + c0 / kBlockElems;
        for (int64_t k = 0; k < n; k += kBlockElems, ++b) {
          const float d = f16_bits_to_f32(b->d);
          for (int j = 0; j < 16; ++j) {
            out[k + j] = d * static_cast<float>((b->qs[j] & 0x0F) - 8);
            out[k + j + 16] = d * static_cast<float>((b->qs[j] >> 4) - 8);
          }
        }
        break;
      }
      default:
        fail("dequantize_tile: weight type {} is not supported", dtype_info(w.type).name);
    }
  }
}

void dequantize_rows(const WeightMatrix& w, const int32_t* ids, int64_t n, float* out) {
  check(w, "dequantize_rows");
#pragma omp parallel for schedule(static) if (n * w.cols > 65536)
  for (int64_t i = 0; i < n; ++i) dequantize_tile(w, ids[i], ids[i] + 1, 0, w.cols, out + i * w.cols, w.cols);
}

void dequant_matmul_t(const WeightMatrix& w, const float* dy, int64_t batch, float* dx, bool accumulate) {
  check(w, "dequant_matmul_t");
  const int64_t rows = w.rows, cols = w.cols;
  if (batch == 0 || cols == 0) return;
  if (w.type == DType::F32) {  // already f32: one sgemm (BLAS threads itself)
    sgemm(false, false, batch, cols, rows, dy, rows, static_cast<const float*>(w.data), cols,
          accumulate ? 1.f : 0.f, dx, cols);
    return;
  }
  if (rows == 0) {
    if (!accumulate) std::fill(dx, dx + batch * cols, 0.f);
    return;
  }
  // Tasks: (batch chunk) x (column tile of W); each walks W's row tiles and accumulates into its
  // own (batch chunk, column tile) of dx.
  const int64_t col_tiles = (cols + kDequantCols - 1) / kDequantCols;
  const int64_t bc = batch_chunk(batch, col_tiles);
  const int64_t batch_tiles = (batch + bc - 1) / bc;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t t = 0; t < batch_tiles * col_tiles; ++t) {
    const int64_t m0 = (t / col_tiles) * bc, m1 = std::min(batch, m0 + bc);
    const int64_t c0 = (t % col_tiles) * kDequantCols, c1 = std::min(cols, c0 + kDequantCols);
    float* s = scratch();
    for (int64_t r0 = 0; r0 < rows; r0 += kDequantRows) {
      const int64_t r1 = std::min(rows, r0 + kDequantRows);
      dequantize_tile(w, r0, r1, c0, c1, s, c1 - c0);
      sgemm(false, false, m1 - m0, c1 - c0, r1 - r0, dy + m0 * rows + r0, rows, s, c1 - c0,
            (r0 == 0 && !accumulate) ? 0.f : 1.f, dx + m0 * cols + c0, cols);
    }
  }
}

void dequant_matmul(const WeightMatrix& w, const float* x, int64_t batch, float* y) {
  check(w, "dequant_matmul");
  const int64_t rows = w.rows, cols = w.cols;
  if (batch == 0 || rows == 0) return;
  if (w.type == DType::F32) {
    sgemm(false, true, batch, rows, cols, x, cols, static_cast<const float*>(w.data), cols, 0.f, y, rows);
    return;
  }
  if (cols == 0) {
    std::fill(y, y + batch * rows, 0.f);
    return;
  }
  // Tasks: (batch chunk) x (row tile of W); each walks W's column tiles and accumulates into its
  // own (batch chunk, row tile) of y.
  const int64_t row_tiles = (rows + kDequantRows - 1) / kDequantRows;
  const int64_t bc = batch_chunk(batch, row_tiles);
  const int64_t batch_tiles = (batch + bc - 1) / bc;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t t = 0; t < batch_tiles * row_tiles; ++t) {
    const int64_t m0 = (t / row_tiles) * bc, m1 = std::min(batch, m0 + bc);
    const int64_t r0 = (t % row_tiles) * kDequantRows, r1 = std::min(rows, r0 + kDequantRows);
    float* s = scratch();
    for (int64_t c0 = 0; c0 < cols; c0 += kDequantCols) {
      const int64_t c1 = std::min(cols, c0 + kDequantCols);
      dequantize_tile(w, r0, r1, c0, c1, s, c1 - c0);
      sgemm(false, true, m1 - m0, r1 - r0, c1 - c0, x + m0 * cols + c0, cols, s, c1 - c0, c0 == 0 ? 0.f : 1.f,
            y + m0 * rows + r0, rows);
    }
  }
}

}  // namespace baimo::cpu
