// drop_mapped_pages: drops the pages of [p, p + n) from this process's resident set, where the range
// lies in a read-only file mapping (MappedFile, a GgufReader opened on a path) whose bytes were
// already copied or converted to where they are used. madvise(MADV_DONTNEED) on the whole pages
// inside the range (rounded inward, so a neighbour's partly covered page stays): for a read-only
// file mapping nothing is lost -- a later access reads the page again from the page cache.
// Never call it on heap memory or a writable mapping (the pages would read back as zeros).
#pragma once
#include <cstddef>

namespace baimo {

void drop_mapped_pages(const void* p, size_t n);

}  // namespace baimo
