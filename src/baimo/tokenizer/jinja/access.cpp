// Attribute and item access, iteration, len and `in`, as Python and jinja2's sandbox do them.
#include <algorithm>

#include "baimo/tokenizer/jinja/filters.h"
#include "baimo/tokenizer/jinja/operators.h"
#include "baimo/tokenizer/jinja/utf8.h"
#include "baimo/util/error.h"

namespace baimo::jinja {

namespace {

Value loop_attr(const LoopObj& l, const std::string& name) {
  const int64_t n = int64_t(l.items->items.size()), i = int64_t(l.index0);
  if (name == "index0") return Value::integer(i);
  if (name == "index") return Value::integer(i + 1);
  if (name == "revindex") return Value::integer(n - i);
  if (name == "revindex0") return Value::integer(n - i - 1);
  if (name == "first") return Value::boolean(i == 0);
  if (name == "last") return Value::boolean(i == n - 1);
  if (name == "length") return Value::integer(n);
  if (name == "depth") return Value::integer(1);
  if (name == "depth0") return Value::integer(0);
  if (name == "previtem") return i > 0 ? l.items->items[size_t(i - 1)] : Value::undefined("there is no previous item");
  if (name == "nextitem") return i + 1 < n ? l.items->items[size_t(i + 1)] : Value::undefined("there is no next item");
  if (name == "cycle") return l.cycle_fn;
  return Value::undefined("'LoopContext' object has no attribute '" + name + "'");
}

}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  using K = Value::Kind;
  switch (obj.kind) {
    case K::Undefined: undefined_error(obj);
    case K::Loop: return loop_attr(*obj.loop, name);
    case K::Namespace: {
      const Value* v = obj.dict->find(name);
      return v ? *v : Value::undefined("'Namespace' object has no attribute '" + name + "'");
    }
    case K::Dict: {
      Value m = method_of(obj, name);
      if (!m.is_undefined()) return m;
      const Value* v = obj.dict->find(name);
      return v ? *v : Value::undefined("'dict object' has no attribute '" + name + "'");
    }
    case K::String:
    case K::List: {
      Value m = method_of(obj, name);
      if (!m.is_undefined()) return m;
      return Value::undefined(fmt::format("'{} object' has no attribute '{}'", obj.type_name(), name));
    }
    default: return Value::undefined(fmt::format("'{}' has no attribute '{}'", obj.repr(), name));
  }
}

static int64_t norm_index(const Value& key, size_t n, bool& ok) {
  int64_t i = key.as_int();
  if (i < 0) i += int64_t(n);
  ok = i >= 0 && i < int64_t(n);
  return i;
}

Value get_item(const Value& obj, const Value& key) {
  using K = Value::Kind;
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.kind == K::Dict) {
    // An unhashable key (list, dict) raises TypeError in Python, which jinja2's getitem turns into Undefined.
    if (const Value* v = obj.dict->find(key)) return *v;
  } else if ((obj.kind == K::List || obj.kind == K::String) && key.is_int()) {
    bool ok = false;
    if (obj.kind == K::List) {
      int64_t i = norm_index(key, obj.list->items.size(), ok);
      if (ok) return obj.list->items[size_t(i)];
    } else {
      std::vector<char32_t> cps = utf8_decode(obj.s);
      int64_t i = norm_index(key, cps.size(), ok);
      if (ok) {
        std::string c;
        utf8_append(c, cps[size_t(i)]);
        return Value::string(c);
      }
    }
    return Value::undefined(fmt::format("{} object has no element {}", obj.type_name(), key.as_int()));
  }
  if (key.is_string()) {
    Value a = get_attr(obj, key.s);
    if (!a.is_undefined()) return a;
  }
  return Value::undefined(fmt::format("'{} object' has no attribute {}", obj.type_name(), key.repr()));
}

std::vector<Value> iterate(const Value& v) {
  using K = Value::Kind;
  switch (v.kind) {
    case K::Undefined: return {};
    case K::List: return v.list->items;
    case K::Dict: {
      std::vector<Value> keys;
      for (const auto& kv : v.dict->items) keys.push_back(kv.first);
      return keys;
    }
    case K::String: {
      std::vector<Value> out;
      for (char32_t c : utf8_decode(v.s)) {
        std::string s;
        utf8_append(s, c);
        out.push_back(Value::string(s));
      }
      return out;
    }
    default: fail("'{}' object is not iterable", v.type_name());
  }
}

int64_t py_len(const Value& v) {
  using K = Value::Kind;
  switch (v.kind) {
    case K::Undefined: return 0;
    case K::String: return int64_t(utf8_length(v.s));
    case K::List: return int64_t(v.list->items.size());
    case K::Dict: return int64_t(v.dict->items.size());
    default: fail("object of type '{}' has no len()", v.type_name());
  }
}

bool contains(const Value& hay, const Value& needle) {
  using K = Value::Kind;
  switch (hay.kind) {
    case K::Undefined: return false;
    case K::String:
      if (!needle.is_string()) fail("'in <string>' requires string as left operand, not {}", needle.type_name());
      return hay.s.find(needle.s) != std::string::npos;
    case K::List:
      return std::any_of(hay.list->items.begin(), hay.list->items.end(), [&](const Value& x) { return equals(x, needle); });
    case K::Dict: return hay.dict->find(needle) != nullptr;
    default: fail("argument of type '{}' is not iterable", hay.type_name());
  }
}

const Value* arg(CallArgs& a, size_t index, const char* name) {
  if (index < a.pos.size()) return &a.pos[index];
  for (auto& [k, v] : a.kw)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace baimo::jinja
