// embedding_frozen: out[n, :] = dequantized table row ids[n]; the table is frozen (no backward
// into it), so the op records nothing.
#include "baimo/autograd/op_util.h"
#include "baimo/autograd/ops.h"

namespace baimo::ag {

Var embedding_frozen(const WeightMatrix& table, const Tensor& ids) {
  using namespace detail;
  require_i32("embedding_frozen", ids, "ids");
  if (!table.defined()) fail("embedding_frozen: table ({}, {}) has no data", table.rows, table.cols);
  if (ids.dim() < 1 || ids.dim() > 3) fail("embedding_frozen: ids must have 1 to 3 dims, got {}", ids.shape().str());
  const int64_t V = table.rows, C = table.cols, n = ids.numel();
  const int32_t* id = ids.data<int32_t>();
  for (int64_t i = 0; i < n; ++i)
    if (id[i] < 0 || id[i] >= V) fail("embedding_frozen: token id {} at position {} is outside [0, {})", id[i], i, V);
  Shape os = ids.shape();
  os.d[os.n++] = C;
  Tensor out = alloc(os);
  backend().weight_rows(table, id, n, out.data<float>());
  return make_output(out, false);
}

}  // namespace baimo::ag
