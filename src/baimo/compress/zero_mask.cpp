#include "baimo/compress/zero_mask.h"

#include <bit>
#include <memory>

#include <fmt/core.h>

namespace baimo {

ZeroMask ZeroMask::of(const Transformer& model, double min_fraction) {
  ZeroMask m;
  for (const auto& p : model.params()) {
    if (p.spec.layer < 0 || p.spec.kind != ParamKind::Matrix || !p.var.requires_grad()) continue;
    const float* w = p.var.value().data<float>();
    const int64_t n = p.var.numel();
    Entry e{p.var, std::vector<uint64_t>(static_cast<size_t>((n + 63) / 64), 0)};
    int64_t zeros = 0;
    for (int64_t i = 0; i < n; ++i)
      if (w[i] == 0.0f) e.bits[static_cast<size_t>(i / 64)] |= uint64_t{1} << (i % 64), ++zeros;
    // An all-zero matrix was initialised so (grow's identity layers, a fresh output projection), not pruned.
    if (zeros == n || static_cast<double>(zeros) < min_fraction * static_cast<double>(n)) continue;
    m.zeros_ += zeros, m.numel_ += n;
    m.entries_.push_back(std::move(e));
  }
  return m;
}

void ZeroMask::zero_gradients() const {
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t k = 0; k < entries_.size(); ++k) {
    const Entry& e = entries_[k];
    if (!e.var.has_grad()) continue;
    float* g = e.var.node()->grad.data<float>();
    for (size_t word = 0; word < e.bits.size(); ++word)
      for (uint64_t b = e.bits[word]; b; b &= b - 1) g[word * 64 + static_cast<size_t>(std::countr_zero(b))] = 0.0f;
  }
}

void keep_pruned_zeros(const Transformer& model, train::TrainerOptions& options, const char* command) {
  auto mask = std::make_shared<ZeroMask>(ZeroMask::of(model));
  if (mask->empty()) return;
  options.edit_gradients = [mask] { mask->zero_gradients(); };
  if (options.rank == 0)
    fmt::print("baimo {}: note: {} block matrices hold {:.2f}% zeros (a pruned model): their zeros are kept through "
               "training (those weights get no gradient)\n",
               command, mask->matrices(), 100.0 * static_cast<double>(mask->zeros()) / static_cast<double>(mask->numel()));
}

}  // namespace baimo
