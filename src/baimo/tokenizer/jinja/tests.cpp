// jinja2's built-in tests (`x is defined`, `x is string`, ...), with Python's answers for
// Undefined (iterable, sequence and callable, like jinja2's Undefined object).
#include <map>

#include "baimo/tokenizer/jinja/filters.h"
#include "baimo/tokenizer/jinja/operators.h"
#include "baimo/tokenizer/jinja/utf8.h"
#include "baimo/util/error.h"

namespace baimo::jinja {
namespace {

using K = Value::Kind;
using Test = bool (*)(const Value&, CallArgs&);

const Value& need(CallArgs& a, const char* test) {
  const Value* v = arg(a, 0, "other");
  if (!v) fail("test '{}' needs an argument", test);
  return *v;
}

bool t_defined(const Value& v, CallArgs&) { return !v.is_undefined(); }
bool t_undefined(const Value& v, CallArgs&) { return v.is_undefined(); }
bool t_none(const Value& v, CallArgs&) { return v.is_none(); }
bool t_boolean(const Value& v, CallArgs&) { return v.kind == K::Bool; }
bool t_true(const Value& v, CallArgs&) { return v.kind == K::Bool && v.b; }
bool t_false(const Value& v, CallArgs&) { return v.kind == K::Bool && !v.b; }
bool t_string(const Value& v, CallArgs&) { return v.is_string(); }
bool t_mapping(const Value& v, CallArgs&) { return v.is_dict(); }
bool t_number(const Value& v, CallArgs&) { return v.is_number(); }
bool t_integer(const Value& v, CallArgs&) { return v.kind == K::Int; }
bool t_float(const Value& v, CallArgs&) { return v.kind == K::Float; }
bool t_callable(const Value& v, CallArgs&) { return v.kind == K::Callable || v.is_undefined(); }
bool t_iterable(const Value& v, CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict() || v.kind == K::Loop;
}
bool t_sequence(const Value& v, CallArgs&) { return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict(); }
bool t_escaped(const Value&, CallArgs&) { return false; }
bool t_lower(const Value& v, CallArgs&) {
  std::string s = v.to_str();
  return py_lower(s) == s && py_upper(s) != s;
}
bool t_upper(const Value& v, CallArgs&) {
  std::string s = v.to_str();
  return py_upper(s) == s && py_lower(s) != s;
}
bool t_even(const Value& v, CallArgs& a) {
  if (!v.is_number()) fail("even: a number is required, not {}", v.type_name());
  return binary_op("%", v, Value::integer(2)).as_double() == 0;
}
bool t_odd(const Value& v, CallArgs& a) { return !t_even(v, a); }
bool t_divisibleby(const Value& v, CallArgs& a) { return binary_op("%", v, need(a, "divisibleby")).as_double() == 0; }
bool t_eq(const Value& v, CallArgs& a) { return equals(v, need(a, "eq")); }
bool t_ne(const Value& v, CallArgs& a) { return !equals(v, need(a, "ne")); }
bool t_lt(const Value& v, CallArgs& a) { return compare(v, need(a, "lt"), "<") < 0; }
bool t_le(const Value& v, CallArgs& a) { return compare(v, need(a, "le"), "<=") <= 0; }
bool t_gt(const Value& v, CallArgs& a) { return compare(v, need(a, "gt"), ">") > 0; }
bool t_ge(const Value& v, CallArgs& a) { return compare(v, need(a, "ge"), ">=") >= 0; }
bool t_in(const Value& v, CallArgs& a) { return contains(need(a, "in"), v); }
bool t_sameas(const Value& v, CallArgs& a) {
  const Value& o = need(a, "sameas");
  if (v.kind != o.kind) return false;
  switch (v.kind) {
    case K::List: return v.list == o.list;
    case K::Dict:
    case K::Namespace: return v.dict == o.dict;
    case K::Callable: return v.fn == o.fn;
    default: return equals(v, o);
  }
}
bool t_filter(const Value& v, CallArgs&) { return v.is_string() && has_filter(v.s); }
bool t_test(const Value& v, CallArgs&) { return v.is_string() && has_test(v.s); }

const std::map<std::string, Test>& tests() {
  static const std::map<std::string, Test> m = {
      {"boolean", t_boolean}, {"callable", t_callable}, {"defined", t_defined}, {"divisibleby", t_divisibleby},
      {"eq", t_eq}, {"equalto", t_eq}, {"==", t_eq}, {"escaped", t_escaped}, {"even", t_even}, {"false", t_false},
      {"filter", t_filter}, {"float", t_float}, {"ge", t_ge}, {">=", t_ge}, {"gt", t_gt}, {"greaterthan", t_gt},
      {">", t_gt}, {"in", t_in}, {"integer", t_integer}, {"iterable", t_iterable}, {"le", t_le}, {"<=", t_le},
      {"lower", t_lower}, {"lt", t_lt}, {"lessthan", t_lt}, {"<", t_lt}, {"mapping", t_mapping}, {"ne", t_ne},
      {"!=", t_ne}, {"none", t_none}, {"number", t_number}, {"odd", t_odd}, {"sameas", t_sameas},
      {"sequence", t_sequence}, {"string", t_string}, {"test", t_test}, {"true", t_true}, {"undefined", t_undefined},
      {"upper", t_upper},
  };
  return m;
}

}  // namespace

bool has_test(const std::string& name) { return tests().count(name) > 0; }

bool apply_test(const std::string& name, const Value& v, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) fail("no test named '{}'", name);
  return it->second(v, args);
}

}  // namespace baimo::jinja
