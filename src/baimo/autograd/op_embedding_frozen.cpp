// embedding_frozen: out[n, :] = dequantized table row ids[n]; the table is frozen (no backward
// into it), so the op records nothing.
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"
#include "baimo/quant/row_convert.h"

namespace baimo::ag {

Var embedding_frozen(const WeightMatrix& table, const Tensor& ids) {
  using namespace detail;
  require_i32("embedding_frozen", ids, "ids");
  if (!table.data) fail("embedding_frozen: table ({}, {}) has no data", table.rows, table.cols);
  if (ids.dim() < 1 || ids.dim() > 3) fail("embedding_frozen: ids must have 1 to 3 dims, got {}", ids.shape().str());
  const int64_t V = table.rows, C = table.cols, n = ids.numel();
  const int32_t* id = ids.data<int32_t>();
  for (int64_t i = 0; i < n; ++i)
    if (id[i] < 0 || id[i] >= V) fail("embedding_frozen: token id {} at position {} is outside [0, {})", id[i], i, V);
  Shape os = ids.shape();
  os.d[os.n++] = C;
  Tensor out = alloc(os);
  float* y = out.data<float>();
  const auto* base = static_cast<const uint8_t*>(table.data);
  const size_t rb = table.row_bytes();
#pragma omp parallel for schedule(static) if (n * C > 65536)
  for (int64_t i = 0; i < n; ++i)
    quant::dequantize_row(table.type, base + static_cast<size_t>(id[i]) * rb, y + i * C, static_cast<size_t>(C));
  return make_output(out, false);
}

}  // namespace baimo::ag
