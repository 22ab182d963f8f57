// Python's operators on Jinja values: + - * / // % ** (numbers, str and list concatenation and
// repetition, "%" formatting of str), ~ (str() concatenation), == != < <= > >=, in / not in, unary
// - and +. Undefined operands raise as jinja2's Undefined does (except ~, ==, != and in).
// Integer overflow is an error (Python would grow); results are capped in size (kMaxText).
#pragma once
#include <string>

#include "baimo/tokenizer/jinja/value.h"

namespace baimo::jinja {

inline constexpr size_t kMaxText = size_t(64) << 20;  // bytes in one string or the output

Value binary_op(const std::string& op, const Value& a, const Value& b);
Value unary_op(const std::string& op, const Value& a);
// Python's "fmt % args" (%s %r %d %i %f %x %%, with flags and width), also the `format` filter.
std::string percent_format(const std::string& fmt, const std::vector<Value>& args);
[[noreturn]] void undefined_error(const Value& v);

}  // namespace baimo::jinja
