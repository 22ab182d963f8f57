#include "baimo/tokenizer/jinja/value.h"

#include <utf8proc.h>

#include <charconv>
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "baimo/tokenizer/jinja/utf8.h"
#include "baimo/util/error.h"

namespace baimo::jinja {

namespace {
thread_local uint64_t copied_bytes = 0;
void charge(size_t n) {
  if (n < 256) return;
  copied_bytes += n;
  if (copied_bytes > kMaxCopiedBytes) fail("the template copies too much text (more than {} bytes)", kMaxCopiedBytes);
}
}  // namespace

void copy_budget_reset() { copied_bytes = 0; }

Value::Value(const Value& o)
    : kind(o.kind), b(o.b), i(o.i), f(o.f), list(o.list), dict(o.dict), fn(o.fn), loop(o.loop), is_tuple(o.is_tuple) {
  charge(o.s.size());
  s = o.s;
}

Value& Value::operator=(const Value& o) {
  if (this == &o) return *this;
  charge(o.s.size());
  kind = o.kind;
  b = o.b;
  i = o.i;
  f = o.f;
  s = o.s;
  list = o.list;
  dict = o.dict;
  fn = o.fn;
  loop = o.loop;
  is_tuple = o.is_tuple;
  return *this;
}

Value Value::undefined(std::string hint) {
  Value v;
  v.s = std::move(hint);
  return v;
}
Value Value::none() {
  Value v;
  v.kind = Kind::None;
  return v;
}
Value Value::boolean(bool x) {
  Value v;
  v.kind = Kind::Bool;
  v.b = x;
  return v;
}
Value Value::integer(int64_t x) {
  Value v;
  v.kind = Kind::Int;
  v.i = x;
  return v;
}
Value Value::number(double x) {
  Value v;
  v.kind = Kind::Float;
  v.f = x;
  return v;
}
Value Value::string(std::string x) {
  Value v;
  v.kind = Kind::String;
  v.s = std::move(x);
  return v;
}
Value Value::make_list(std::vector<Value> items, bool tuple) {
  Value v;
  v.kind = Kind::List;
  v.list = std::make_shared<ListObj>();
  v.list->items = std::move(items);
  v.is_tuple = tuple;
  for (const Value& x : v.list->items) v.list->depth = std::max(v.list->depth, nesting(x) + 1);
  if (v.list->depth > kMaxNesting) fail("values are nested too deeply (more than {} levels)", kMaxNesting);
  return v;
}
Value Value::make_dict() {
  Value v;
  v.kind = Kind::Dict;
  v.dict = std::make_shared<DictObj>();
  return v;
}
Value Value::make_namespace() {
  Value v = make_dict();
  v.kind = Kind::Namespace;
  return v;
}
Value Value::callable(std::string name, NativeFn fn) {
  Value v;
  v.kind = Kind::Callable;
  v.fn = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  using T = nlohmann::ordered_json::value_t;
  switch (j.type()) {
    case T::null: return none();
    case T::boolean: return boolean(j.get<bool>());
    case T::number_integer: return integer(j.get<int64_t>());
    case T::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > uint64_t(INT64_MAX)) return number(double(u));
      return integer(int64_t(u));
    }
    case T::number_float: return number(j.get<double>());
    case T::string: return string(j.get<std::string>());
    case T::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return make_list(std::move(items));
    }
    case T::object: {
      Value d = make_dict();
      for (auto it = j.begin(); it != j.end(); ++it) {
        Value x = from_json(it.value());
        d.dict->depth = std::max(d.dict->depth, nesting(x) + 1);
        if (d.dict->depth > kMaxNesting) fail("values are nested too deeply (more than {} levels)", kMaxNesting);
        d.dict->items.emplace_back(string(it.key()), std::move(x));
      }
      return d;
    }
    default: return none();  // binary, discarded: not produced by JSON text
  }
}

bool Value::truthy() const {
  switch (kind) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return b;
    case Kind::Int: return i != 0;
    case Kind::Float: return f != 0;
    case Kind::String: return !s.empty();
    case Kind::List: return !list->items.empty();
    case Kind::Dict: return !dict->items.empty();
    default: return true;
  }
}

const char* Value::type_name() const {
  switch (kind) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return is_tuple ? "tuple" : "list";
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Callable: return "function";
    case Kind::Loop: return "LoopContext";
  }
  return "object";
}

std::string float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // [-]d[.ddd]e[+-]xx
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  size_t epos = sci.find('e');
  std::string digits = sci.substr(0, epos);
  int exp10 = std::stoi(sci.substr(epos + 1));
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.'
  int decpt = exp10 + 1;                        // value = 0.digits * 10^decpt
  std::string out;
  if (decpt <= -4 || decpt > 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    out += e;
  } else if (decpt <= 0) {
    out = "0." + std::string(size_t(-decpt), '0') + digits;
  } else if (size_t(decpt) >= digits.size()) {
    out = digits + std::string(size_t(decpt) - digits.size(), '0') + ".0";
  } else {
    out = digits.substr(0, size_t(decpt)) + "." + digits.substr(size_t(decpt));
  }
  return sign + out;
}

static bool printable(char32_t c) {
  if (c == ' ') return true;
  if (c < 0x20 || c == 0x7F) return false;
  if (c < 0x7F) return true;
  switch (utf8proc_category(utf8proc_int32_t(c))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
  }
}

std::string string_repr(const std::string& s) {
  const bool has_sq = s.find('\'') != std::string::npos, has_dq = s.find('"') != std::string::npos;
  const char q = has_sq && !has_dq ? '"' : '\'';
  std::string out(1, q);
  for (char32_t c : utf8_decode(s)) {
    if (c == char32_t(q) || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (!printable(c)) {
      char buf[16];
      if (c < 0x100) std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(c));
      else if (c < 0x10000) std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
      else std::snprintf(buf, sizeof buf, "\\U%08x", unsigned(c));
      out += buf;
    } else {
      utf8_append(out, c);
    }
  }
  out += q;
  return out;
}

std::string Value::to_str() const {
  switch (kind) {
    case Kind::Undefined: return "";
    case Kind::None: return "None";
    case Kind::Bool: return b ? "True" : "False";
    case Kind::Int: return std::to_string(i);
    case Kind::Float: return float_repr(f);
    case Kind::String: return s;
    case Kind::List: {
      std::string out = is_tuple ? "(" : "[";
      for (size_t k = 0; k < list->items.size(); ++k) {
        if (k) out += ", ";
        out += list->items[k].repr();
      }
      if (is_tuple && list->items.size() == 1) out += ",";
      return out + (is_tuple ? ")" : "]");
    }
    case Kind::Dict:
    case Kind::Namespace: {
      std::string out = kind == Kind::Namespace ? "<Namespace {" : "{";
      for (size_t k = 0; k < dict->items.size(); ++k) {
        if (k) out += ", ";
        out += dict->items[k].first.repr() + ": " + dict->items[k].second.repr();
      }
      return out + (kind == Kind::Namespace ? "}>" : "}");
    }
    case Kind::Callable: return "<function " + fn->name + ">";
    case Kind::Loop: return "<LoopContext>";
  }
  return "";
}

std::string Value::repr() const {
  if (kind == Kind::String) return string_repr(s);
  if (kind == Kind::Undefined) return "Undefined";
  return to_str();
}

const Value* DictObj::find(const Value& key) const {
  for (const auto& [k, v] : items)
    if (equals(k, key)) return &v;
  return nullptr;
}

const Value* DictObj::find(const std::string& key) const {
  for (const auto& [k, v] : items)
    if (k.kind == Value::Kind::String && k.s == key) return &v;
  return nullptr;
}

int nesting(const Value& v) {
  if (v.kind == Value::Kind::List) return v.list->depth;
  if (v.kind == Value::Kind::Dict || v.kind == Value::Kind::Namespace) return v.dict->depth;
  if (v.kind == Value::Kind::Loop) return v.loop->items->depth + 1;
  return 0;
}

bool reaches(const Value& v, const DictObj* target) {
  switch (v.kind) {
    case Value::Kind::List:
      for (const Value& x : v.list->items)
        if (reaches(x, target)) return true;
      return false;
    case Value::Kind::Dict:
    case Value::Kind::Namespace:
      if (v.dict.get() == target) return true;
      for (const auto& [k, x] : v.dict->items)
        if (reaches(x, target)) return true;
      return false;
    case Value::Kind::Loop:
      for (const Value& x : v.loop->items->items)
        if (reaches(x, target)) return true;
      return false;
    default: return false;
  }
}

void DictObj::set(const Value& key, Value v) {
  depth = std::max(depth, nesting(v) + 1);
  if (depth > kMaxNesting) fail("values are nested too deeply (more than {} levels)", kMaxNesting);
  for (auto& [k, old] : items)
    if (equals(k, key)) {
      old = std::move(v);
      return;
    }
  items.emplace_back(key, std::move(v));
}

bool equals(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.kind == K::Float || b.kind == K::Float) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::Undefined:
    case K::None: return true;
    case K::String: return a.s == b.s;
    case K::List:
      if (a.is_tuple != b.is_tuple || a.list->items.size() != b.list->items.size()) return false;
      for (size_t k = 0; k < a.list->items.size(); ++k)
        if (!equals(a.list->items[k], b.list->items[k])) return false;
      return true;
    case K::Dict: {
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& [k, v] : a.dict->items) {
        const Value* o = b.dict->find(k);
        if (!o || !equals(v, *o)) return false;
      }
      return true;
    }
    case K::Namespace: return a.dict == b.dict;
    case K::Callable: return a.fn == b.fn;
    case K::Loop: return a.loop == b.loop;
    default: return false;
  }
}

int compare(const Value& a, const Value& b, const char* op) {
  if (a.is_number() && b.is_number()) {
    if (a.kind == Value::Kind::Float || b.kind == Value::Kind::Float) {
      double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.kind == Value::Kind::String && b.kind == Value::Kind::String) return a.s.compare(b.s) < 0 ? -1 : a.s == b.s ? 0 : 1;
  if (a.kind == Value::Kind::List && b.kind == Value::Kind::List && a.is_tuple == b.is_tuple) {
    const auto &x = a.list->items, &y = b.list->items;
    for (size_t k = 0; k < x.size() && k < y.size(); ++k) {
      if (equals(x[k], y[k])) continue;
      return compare(x[k], y[k], op);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  if (a.is_undefined() || b.is_undefined())
    fail("{}", a.is_undefined() ? (a.s.empty() ? "value is undefined" : a.s) : (b.s.empty() ? "value is undefined" : b.s));
  fail("'{}' not supported between instances of '{}' and '{}'", op, a.type_name(), b.type_name());
}

}  // namespace baimo::jinja
