// UTF-8 helpers for the Jinja interpreter: Python's str works in code points, baimo's strings are
// UTF-8 bytes. Invalid bytes decode as U+FFFD one byte at a time (never read past the end).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace baimo::jinja {

std::vector<char32_t> utf8_decode(std::string_view s);
void utf8_append(std::string& out, char32_t cp);
std::string utf8_encode(const std::vector<char32_t>& cps);
size_t utf8_length(std::string_view s);  // code points
// Python's str.isspace() for one code point.
bool py_isspace(char32_t c);
// Python's str.strip / lstrip / rstrip: chars empty means white space.
std::string py_strip(std::string_view s, bool left, bool right, std::string_view chars = {}, bool use_chars = false);
// Python's str.replace(old, new, count); count < 0: all.
std::string py_replace(const std::string& s, const std::string& old, const std::string& repl, int64_t count);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);

}  // namespace baimo::jinja
