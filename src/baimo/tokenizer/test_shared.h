// Test helper: where the shared reference files live ($BAIMO_SHARED, else ../shared beside the repo).
#pragma once
#include <cstdlib>
#include <string>

namespace baimo::test_data {
inline std::string shared_dir() {
  if (const char* s = std::getenv("BAIMO_SHARED"); s && *s) return s;
  return std::string(BAIMO_SOURCE_DIR) + "/../shared";
}
inline std::string vectors_dir() { return shared_dir() + "/vectors"; }
}  // namespace baimo::testing
