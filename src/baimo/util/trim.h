// trim_space(s): s without the white space at either end, a view into s (empty when s is all space).
// White space is ASCII " \t\n\r\f\v" unless `space` names other characters.
#pragma once
#include <string_view>

namespace baimo {

inline constexpr std::string_view kAsciiSpace = " \t\n\r\f\v";

inline std::string_view trim_space(std::string_view s, std::string_view space = kAsciiSpace) {
  const size_t a = s.find_first_not_of(space);
  if (a == std::string_view::npos) return {};
  return s.substr(a, s.find_last_not_of(space) - a + 1);
}

}  // namespace baimo
