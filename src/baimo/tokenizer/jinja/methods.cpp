// The methods of Python's str, dict and list that templates call, bound to their object. Methods
// that would mutate (list.append, dict.update, ...) exist but raise, as in jinja2's
// ImmutableSandboxedEnvironment.
#include <algorithm>
#include <cstring>

#include "baimo/tokenizer/jinja/filters.h"
#include "baimo/tokenizer/jinja/utf8.h"
#include "baimo/util/error.h"

namespace baimo::jinja {
namespace {

std::string str_arg(CallArgs& a, size_t i, const char* name, const char* method) {
  const Value* v = arg(a, i, name);
  if (!v) fail("{}() missing argument '{}'", method, name);
  if (!v->is_string()) fail("{}() argument must be str, not {}", method, v->type_name());
  return v->s;
}

std::vector<Value> split(const std::string& s, const Value* sep, int64_t maxsplit) {
  std::vector<Value> out;
  if (!sep || sep->is_none()) {
    std::vector<char32_t> cps = utf8_decode(s);
    size_t i = 0;
    while (true) {
      while (i < cps.size() && py_isspace(cps[i])) ++i;
      if (i >= cps.size()) break;
      if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) {
        size_t e = cps.size();
        while (e > i && py_isspace(cps[e - 1])) --e;
        out.push_back(Value::string(utf8_encode({cps.begin() + long(i), cps.begin() + long(e)})));
        break;
      }
      size_t b = i;
      while (i < cps.size() && !py_isspace(cps[i])) ++i;
      out.push_back(Value::string(utf8_encode({cps.begin() + long(b), cps.begin() + long(i)})));
    }
    return out;
  }
  if (!sep->is_string()) fail("split() separator must be str or None");
  if (sep->s.empty()) fail("empty separator");
  size_t pos = 0;
  while (true) {
    size_t f = maxsplit >= 0 && int64_t(out.size()) == maxsplit ? std::string::npos : s.find(sep->s, pos);
    if (f == std::string::npos) {
      out.push_back(Value::string(s.substr(pos)));
      break;
    }
    out.push_back(Value::string(s.substr(pos, f - pos)));
    pos = f + sep->s.size();
  }
  return out;
}

bool affix(const std::string& s, const Value& a, bool prefix) {
  auto one = [&](const Value& p) {
    if (!p.is_string()) fail("{}with first arg must be str or a tuple of str", prefix ? "starts" : "ends");
    if (p.s.size() > s.size()) return false;
    return prefix ? s.compare(0, p.s.size(), p.s) == 0 : s.compare(s.size() - p.s.size(), p.s.size(), p.s) == 0;
  };
  if (a.is_list() && a.is_tuple) return std::any_of(a.list->items.begin(), a.list->items.end(), one);
  return one(a);
}

Value str_method(const std::string& s, const std::string& name, CallArgs& a) {
  auto strip = [&](bool l, bool r) {
    const Value* c = arg(a, 0, "chars");
    bool use = c && !c->is_none();
    if (use && !c->is_string()) fail("{}() arg must be None or str", name);
    return Value::string(py_strip(s, l, r, use ? c->s : std::string(), use));
  };
  if (name == "strip") return strip(true, true);
  if (name == "lstrip") return strip(true, false);
  if (name == "rstrip") return strip(false, true);
  if (name == "upper") return Value::string(py_upper(s));
  if (name == "lower") return Value::string(py_lower(s));
  if (name == "startswith" || name == "endswith") {
    const Value* p = arg(a, 0, "prefix");
    if (!p) fail("{}() takes at least 1 argument (0 given)", name);
    return Value::boolean(affix(s, *p, name == "startswith"));
  }
  if (name == "split") {
    const Value* m = arg(a, 1, "maxsplit");
    return Value::make_list(split(s, arg(a, 0, "sep"), m ? m->as_int() : -1));
  }
  if (name == "replace") {
    std::string from = str_arg(a, 0, "old", "replace"), to = str_arg(a, 1, "new", "replace");
    const Value* c = arg(a, 2, "count");
    return Value::string(py_replace(s, from, to, c ? c->as_int() : -1));
  }
  if (name == "find" || name == "count" || name == "index") {
    std::string sub = str_arg(a, 0, "sub", name.c_str());
    if (name == "count") {
      if (sub.empty()) return Value::integer(int64_t(utf8_length(s)) + 1);
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value::integer(n);
    }
    size_t p = s.find(sub);
    if (p == std::string::npos) {
      if (name == "index") fail("substring not found");
      return Value::integer(-1);
    }
    return Value::integer(int64_t(utf8_length(std::string_view(s).substr(0, p))));
  }
  if (name == "join") {
    const Value* it = arg(a, 0, "iterable");
    if (!it) fail("join() takes exactly one argument");
    std::string out;
    bool first = true;
    for (const Value& v : iterate(*it)) {
      if (!v.is_string()) fail("sequence item: expected str instance, {} found", v.type_name());
      if (!first) out += s;
      first = false;
      out += v.s;
    }
    return Value::string(out);
  }
  if (name == "title" || name == "capitalize") return apply_filter(name, Value::string(s), a);
  if (name == "splitlines") {
    std::vector<Value> out;
    size_t b = 0;
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] == '\n' || s[i] == '\r') {
        out.push_back(Value::string(s.substr(b, i - b)));
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        b = i + 1;
      }
    if (b < s.size()) out.push_back(Value::string(s.substr(b)));
    return Value::make_list(std::move(out));
  }
  if (name == "isdigit" || name == "isspace" || name == "isalpha" || name == "isalnum" || name == "isupper" || name == "islower") {
    std::vector<char32_t> cps = utf8_decode(s);
    if (cps.empty()) return Value::boolean(false);
    bool ok = true, cased = false;
    for (char32_t c : cps) {
      bool digit = c >= '0' && c <= '9', alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (name == "isdigit") ok &= digit;
      else if (name == "isspace") ok &= py_isspace(c);
      else if (name == "isalpha") ok &= alpha;
      else if (name == "isalnum") ok &= alpha || digit;
      else if (name == "isupper") ok &= !(c >= 'a' && c <= 'z'), cased |= c >= 'A' && c <= 'Z';
      else ok &= !(c >= 'A' && c <= 'Z'), cased |= c >= 'a' && c <= 'z';
    }
    if (name == "isupper" || name == "islower") ok &= cased;
    return Value::boolean(ok);
  }
  if (name == "removeprefix" || name == "removesuffix") {
    std::string x = str_arg(a, 0, "prefix", name.c_str());
    bool pre = name == "removeprefix";
    if (affix(s, Value::string(x), pre)) return Value::string(pre ? s.substr(x.size()) : s.substr(0, s.size() - x.size()));
    return Value::string(s);
  }
  fail("str.{}() is not supported by baimo's Jinja interpreter", name);
}

Value dict_method(const Value& d, const std::string& name, CallArgs& a) {
  if (name == "get") {
    const Value* k = arg(a, 0, "key");
    if (!k) fail("get expected at least 1 argument, got 0");
    const Value* v = d.dict->find(*k);
    if (v) return *v;
    const Value* def = arg(a, 1, "default");
    return def ? *def : Value::none();
  }
  std::vector<Value> out;
  for (const auto& [k, v] : d.dict->items) {
    if (name == "keys") out.push_back(k);
    else if (name == "values") out.push_back(v);
    else if (name == "items") out.push_back(Value::make_list({k, v}, true));
  }
  if (name == "keys" || name == "values" || name == "items") return Value::make_list(std::move(out));
  if (name == "copy") {
    Value c = Value::make_dict();
    c.dict->items = d.dict->items;
    return c;
  }
  fail("access to dict.{}() is unsafe in a sandboxed template (it would modify the dict)", name);
}

Value list_method(const Value& l, const std::string& name, CallArgs& a) {
  if (name == "index" || name == "count") {
    const Value* x = arg(a, 0, "value");
    if (!x) fail("{}() takes exactly one argument", name);
    int64_t n = 0;
    for (size_t i = 0; i < l.list->items.size(); ++i)
      if (equals(l.list->items[i], *x)) {
        if (name == "index") return Value::integer(int64_t(i));
        ++n;
      }
    if (name == "index") fail("{} is not in list", x->repr());
    return Value::integer(n);
  }
  if (name == "copy") return Value::make_list(l.list->items, l.is_tuple);
  fail("access to list.{}() is unsafe in a sandboxed template (it would modify the list)", name);
}

bool one_of(const std::string& name, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
}

}  // namespace

Value method_of(const Value& obj, const std::string& name) {
  if (obj.is_string()) {
    if (!one_of(name, {"strip", "lstrip", "rstrip", "upper", "lower", "startswith", "endswith", "split", "replace", "find",
                       "count", "index", "join", "title", "capitalize", "splitlines", "isdigit", "isspace", "isalpha",
                       "isalnum", "isupper", "islower", "removeprefix", "removesuffix", "format", "rsplit", "rfind",
                       "partition", "rpartition", "zfill", "center", "ljust", "rjust", "casefold", "swapcase",
                       "encode", "expandtabs", "istitle", "isnumeric", "isdecimal", "isidentifier", "isprintable",
                       "isascii", "translate", "maketrans", "rindex", "format_map"}))
      return Value::undefined();
    std::string s = obj.s;
    return Value::callable("str." + name, [s, name](CallArgs& a) { return str_method(s, name, a); });
  }
  if (obj.is_dict()) {
    if (!one_of(name, {"get", "items", "keys", "values", "copy", "update", "pop", "popitem", "setdefault", "clear", "fromkeys"}))
      return Value::undefined();
    return Value::callable("dict." + name, [obj, name](CallArgs& a) { return dict_method(obj, name, a); });
  }
  if (obj.is_list()) {
    const bool tuple_ok = one_of(name, {"index", "count"});
    if (!tuple_ok && (obj.is_tuple || !one_of(name, {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear", "copy"})))
      return Value::undefined();
    return Value::callable("list." + name, [obj, name](CallArgs& a) { return list_method(obj, name, a); });
  }
  return Value::undefined();
}

}  // namespace baimo::jinja
