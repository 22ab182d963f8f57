// seconds_since(t0): wall-clock seconds from t0 to now on the steady clock (timings in reports and metrics).
#pragma once
#include <chrono>

namespace baimo {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace baimo
