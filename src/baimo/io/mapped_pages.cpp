#include "baimo/io/mapped_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace baimo {

void drop_mapped_pages(const void* p, size_t n) {
  if (!p || n == 0) return;
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto b = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const auto e = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
  if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
}

}  // namespace baimo
