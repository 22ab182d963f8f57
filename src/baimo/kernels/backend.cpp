#include "baimo/kernels/backend.h"

#include "baimo/kernels/cpu/cpu_backend.h"

namespace baimo {

namespace {
Backend* g_backend = nullptr;
}

Backend& cpu_backend() {
  static cpu::CpuBackend b;
  return b;
}

Backend& backend() { return g_backend ? *g_backend : cpu_backend(); }

void set_backend(Backend* b) { g_backend = b; }

}  // namespace baimo
