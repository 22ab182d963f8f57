// baimo::Error: the one exception type for bad input and failed I/O.
// Contract: the message names the file, field or line and what was expected; the CLI prints it
// as "baimo: error: <message>" and exits 1. Never thrown for programming errors (those assert).
#pragma once
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace baimo {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace baimo
