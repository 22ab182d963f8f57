#include "baimo/tokenizer/jinja/operators.h"

#include <cmath>
#include <cstdio>

#include "baimo/tokenizer/jinja/filters.h"
#include "baimo/util/error.h"

namespace baimo::jinja {

void undefined_error(const Value& v) { fail("{}", v.s.empty() ? std::string("value is undefined") : v.s); }

namespace {

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  fail("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
}

template <class Op>
Value checked(Op op, int64_t x, int64_t y) {
  int64_t r = 0;
  if (op(x, y, &r)) fail("integer overflow (baimo's Jinja integers are 64-bit)");
  return Value::integer(r);
}
bool add(int64_t x, int64_t y, int64_t* r) { return __builtin_add_overflow(x, y, r); }
bool sub(int64_t x, int64_t y, int64_t* r) { return __builtin_sub_overflow(x, y, r); }
bool mul(int64_t x, int64_t y, int64_t* r) { return __builtin_mul_overflow(x, y, r); }

Value repeat(const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    if (!seq.s.empty() && uint64_t(n) > kMaxText / seq.s.size()) fail("string repetition result is too large");
    std::string out;
    for (int64_t k = 0; k < n; ++k) out += seq.s;
    return Value::string(out);
  }
  if (!seq.list->items.empty() && uint64_t(n) > (size_t(1) << 20) / seq.list->items.size()) fail("list repetition result is too large");
  std::vector<Value> out;
  for (int64_t k = 0; k < n; ++k) out.insert(out.end(), seq.list->items.begin(), seq.list->items.end());
  return Value::make_list(std::move(out), seq.is_tuple);
}

double py_fmod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    std::string s = a.to_str();
    std::string t = b.to_str();
    if (s.size() + t.size() > kMaxText) fail("string is too large");
    return Value::string(s + t);
  }
  if (op == "==") return Value::boolean(equals(a, b));
  if (op == "!=") return Value::boolean(!equals(a, b));
  if (op == "in") return Value::boolean(contains(b, a));
  if (op == "notin") return Value::boolean(!contains(b, a));
  if (op == "<") return Value::boolean(compare(a, b, "<") < 0);
  if (op == "<=") return Value::boolean(compare(a, b, "<=") <= 0);
  if (op == ">") return Value::boolean(compare(a, b, ">") > 0);
  if (op == ">=") return Value::boolean(compare(a, b, ">=") >= 0);
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  const bool ints = a.is_int() && b.is_int();
  const bool nums = a.is_number() && b.is_number();
  if (op == "+") {
    if (ints) return checked(add, a.as_int(), b.as_int());
    if (nums) return Value::number(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) {
      if (a.s.size() + b.s.size() > kMaxText) fail("string is too large");
      return Value::string(a.s + b.s);
    }
    if (a.is_list() && b.is_list() && a.is_tuple == b.is_tuple) {
      if (a.list->items.size() + b.list->items.size() > (size_t(1) << 20)) fail("list is too long");
      std::vector<Value> items = a.list->items;
      items.insert(items.end(), b.list->items.begin(), b.list->items.end());
      return Value::make_list(std::move(items), a.is_tuple);
    }
    if (a.is_string() || b.is_string()) fail("can only concatenate str (not \"{}\") to str", a.is_string() ? b.type_name() : a.type_name());
    unsupported(op, a, b);
  }
  if (op == "-") {
    if (ints) return checked(sub, a.as_int(), b.as_int());
    if (nums) return Value::number(a.as_double() - b.as_double());
    unsupported(op, a, b);
  }
  if (op == "*") {
    if (ints) return checked(mul, a.as_int(), b.as_int());
    if (nums) return Value::number(a.as_double() * b.as_double());
    if ((a.is_string() || a.is_list()) && b.is_int()) return repeat(a, b.as_int());
    if ((b.is_string() || b.is_list()) && a.is_int()) return repeat(b, a.as_int());
    unsupported(op, a, b);
  }
  if (op == "/" || op == "//" || op == "%") {
    if (op == "%" && a.is_string()) return Value::string(percent_format(a.s, b.is_list() && b.is_tuple ? b.list->items : std::vector<Value>{b}));
    if (!nums) unsupported(op, a, b);
    if (b.as_double() == 0) {
      if (ints && op != "/") fail("integer division or modulo by zero");
      fail("division by zero");
    }
    if (op == "/") return Value::number(a.as_double() / b.as_double());
    if (ints) {
      int64_t x = a.as_int(), y = b.as_int();
      if (x == INT64_MIN && y == -1) fail("integer overflow (baimo's Jinja integers are 64-bit)");
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        --q;
        m += y;
      }
      return Value::integer(op == "//" ? q : m);
    }
    double x = a.as_double(), y = b.as_double();
    if (op == "//") {
      double mod = std::fmod(x, y), div = (x - mod) / y;
      if (mod != 0 && ((y < 0) != (mod < 0))) div -= 1;
      double fl = std::floor(div);
      if (div - fl > 0.5) fl += 1;
      return Value::number(fl);
    }
    return Value::number(py_fmod(x, y));
  }
  if (op == "**") {
    if (!nums) unsupported(op, a, b);
    if (ints && b.as_int() >= 0) {
      int64_t base = a.as_int(), e = b.as_int(), acc = 1;
      while (e > 0) {
        if (e & 1) {
          if (__builtin_mul_overflow(acc, base, &acc)) fail("integer overflow (baimo's Jinja integers are 64-bit)");
        }
        e >>= 1;
        if (e > 0 && __builtin_mul_overflow(base, base, &base)) fail("integer overflow (baimo's Jinja integers are 64-bit)");
      }
      return Value::integer(acc);
    }
    if (a.as_double() == 0 && b.as_double() < 0) fail("0.0 cannot be raised to a negative power");
    return Value::number(std::pow(a.as_double(), b.as_double()));
  }
  fail("unknown operator '{}'", op);
}

Value unary_op(const std::string& op, const Value& a) {
  if (op == "not") return Value::boolean(!a.truthy());
  if (a.is_undefined()) undefined_error(a);
  if (!a.is_number()) fail("bad operand type for unary {}: '{}'", op, a.type_name());
  if (op == "+") return a.kind == Value::Kind::Bool ? Value::integer(a.as_int()) : a;
  if (a.kind == Value::Kind::Float) return Value::number(-a.f);
  if (a.as_int() == INT64_MIN) fail("integer overflow (baimo's Jinja integers are 64-bit)");
  return Value::integer(-a.as_int());
}

std::string percent_format(const std::string& fmt, const std::vector<Value>& args) {
  std::string out;
  size_t ai = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    size_t j = i + 1;
    std::string spec = "%";
    while (j < fmt.size() && std::string("-+ #0").find(fmt[j]) != std::string::npos) spec += fmt[j++];
    while (j < fmt.size() && fmt[j] >= '0' && fmt[j] <= '9' && spec.size() < 12) spec += fmt[j++];
    if (j < fmt.size() && fmt[j] == '.') {
      spec += fmt[j++];
      while (j < fmt.size() && fmt[j] >= '0' && fmt[j] <= '9' && spec.size() < 16) spec += fmt[j++];
    }
    if (j >= fmt.size()) fail("incomplete format");
    char c = fmt[j];
    i = j;
    if (c == '%') {
      out += '%';
      continue;
    }
    if (ai >= args.size()) fail("not enough arguments for format string");
    const Value& v = args[ai++];
    char buf[512];
    if (c == 's' || c == 'r') {
      std::string s = c == 's' ? v.to_str() : v.repr();
      const bool left = spec.find('-') != std::string::npos;
      size_t d = spec.find_first_of("123456789");
      size_t width = d == std::string::npos ? 0 : size_t(std::atoi(spec.c_str() + d));
      if (width > (size_t(1) << 20)) fail("format width is too large");
      size_t n = s.size();
      if (n < width) s = left ? s + std::string(width - n, ' ') : std::string(width - n, ' ') + s;
      out += s;
    } else if (c == 'd' || c == 'i' || c == 'x' || c == 'X' || c == 'o') {
      if (!v.is_number()) fail("%{} format: a number is required, not {}", c, v.type_name());
      long long n = v.kind == Value::Kind::Float ? (long long)v.f : (long long)v.as_int();
      std::snprintf(buf, sizeof buf, (spec + "ll" + (c == 'i' ? 'd' : c)).c_str(), n);
      out += buf;
    } else if (c == 'f' || c == 'F' || c == 'e' || c == 'E' || c == 'g' || c == 'G') {
      if (!v.is_number()) fail("must be real number, not {}", v.type_name());
      std::snprintf(buf, sizeof buf, (spec + c).c_str(), v.as_double());
      out += buf;
    } else {
      fail("unsupported format character '{}'", c);
    }
    if (out.size() > kMaxText) fail("string is too large");
  }
  if (ai < args.size()) fail("not all arguments converted during string formatting");
  return out;
}

}  // namespace baimo::jinja
