// For tests: error_of(f) runs f and returns the message of the baimo::Error it throws, or "" when it
// throws none (any other exception propagates).
#pragma once
#include <functional>
#include <string>

#include "baimo/util/error.h"

namespace baimo {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace baimo
