// jinja2's built-in filters (the ones chat templates use), with transformers' tojson.
#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdlib>
#include <map>

#include "baimo/tokenizer/jinja/filters.h"
#include "baimo/tokenizer/jinja/operators.h"
#include "baimo/tokenizer/jinja/utf8.h"
#include "baimo/util/error.h"

namespace baimo::jinja {
namespace {

using Filter = Value (*)(const Value&, CallArgs&);

bool flag(CallArgs& a, size_t i, const char* name, bool def) {
  const Value* v = arg(a, i, name);
  return v ? v->truthy() : def;
}

// jinja2's make_attrgetter: "a.b.0" looked up item-first on each part.
Value attr_path(const Value& v, const std::string& path) {
  Value cur = v;
  size_t b = 0;
  while (true) {
    size_t e = path.find('.', b);
    std::string part = path.substr(b, e == std::string::npos ? std::string::npos : e - b);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    cur = get_item(cur, digits ? Value::integer(std::atoll(part.c_str())) : Value::string(part));
    if (e == std::string::npos) return cur;
    b = e + 1;
  }
}

Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value::string(py_lower(v.s)) : v;
}

Value f_tojson(const Value& v, CallArgs& a) {
  const bool ensure_ascii = flag(a, 0, "ensure_ascii", false);
  const Value* ind = arg(a, 1, "indent");
  std::string indent;
  const bool pretty = ind && !ind->is_none();
  if (pretty) indent = ind->is_string() ? ind->s : std::string(size_t(std::max<int64_t>(0, ind->as_int())), ' ');
  std::string item_sep = pretty ? "," : ", ", key_sep = ": ";
  if (const Value* sep = arg(a, 2, "separators"); sep && !sep->is_none()) {
    if (!sep->is_list() || sep->list->items.size() != 2 || !sep->list->items[0].is_string() || !sep->list->items[1].is_string())
      fail("tojson: separators must be a pair of strings");
    item_sep = sep->list->items[0].s;
    key_sep = sep->list->items[1].s;
  }
  return Value::string(json_dumps(v, ensure_ascii, pretty ? &indent : nullptr, item_sep, key_sep, flag(a, 3, "sort_keys", false)));
}

Value f_trim(const Value& v, CallArgs& a) {
  const Value* c = arg(a, 0, "chars");
  const bool use = c && !c->is_none();
  return Value::string(py_strip(v.to_str(), true, true, use ? c->to_str() : std::string(), use));
}
Value f_length(const Value& v, CallArgs&) { return Value::integer(py_len(v)); }
Value f_upper(const Value& v, CallArgs&) { return Value::string(py_upper(v.to_str())); }
Value f_lower(const Value& v, CallArgs&) { return Value::string(py_lower(v.to_str())); }
Value f_string(const Value& v, CallArgs&) { return v.is_string() ? v : Value::string(v.to_str()); }
Value f_safe(const Value& v, CallArgs&) { return v; }

Value f_capitalize(const Value& v, CallArgs&) {
  std::vector<char32_t> cps = utf8_decode(v.to_str());
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    std::string c;
    utf8_append(c, cps[i]);
    out += i == 0 ? py_upper(c) : py_lower(c);
  }
  return Value::string(out);
}

Value f_title(const Value& v, CallArgs&) {
  std::string out;
  bool word_start = true;
  for (char32_t c : utf8_decode(v.to_str())) {
    std::string ch;
    utf8_append(ch, c);
    bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_isspace(c);
    out += sep ? ch : word_start ? py_upper(ch) : py_lower(ch);
    word_start = sep;
  }
  return Value::string(out);
}

Value f_default(const Value& v, CallArgs& a) {
  const Value* d = arg(a, 0, "default_value");
  if (v.is_undefined() || (flag(a, 1, "boolean", false) && !v.truthy())) return d ? *d : Value::string("");
  return v;
}

Value f_join(const Value& v, CallArgs& a) {
  const Value* sep = arg(a, 0, "d");
  const Value* attr = arg(a, 1, "attribute");
  std::string out, s = sep ? sep->to_str() : std::string();
  bool first = true;
  for (const Value& x : iterate(v)) {
    if (!first) out += s;
    first = false;
    out += (attr && !attr->is_none() ? attr_path(x, attr->to_str()) : x).to_str();
    if (out.size() > kMaxText) fail("join: the result is too large");
  }
  return Value::string(out);
}

Value f_items(const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::make_list({});
  if (!v.is_dict()) fail("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, x] : v.dict->items) out.push_back(Value::make_list({k, x}, true));
  return Value::make_list(std::move(out));
}

Value f_first(const Value& v, CallArgs&) {
  std::vector<Value> items = iterate(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}
Value f_last(const Value& v, CallArgs&) {
  std::vector<Value> items = iterate(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}
Value f_list(const Value& v, CallArgs&) { return Value::make_list(iterate(v)); }

Value f_reverse(const Value& v, CallArgs&) {
  if (v.is_string()) {
    std::vector<char32_t> cps = utf8_decode(v.s);
    std::reverse(cps.begin(), cps.end());
    return Value::string(utf8_encode(cps));
  }
  std::vector<Value> items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::make_list(std::move(items));
}

Value f_replace(const Value& v, CallArgs& a) {
  const Value *o = arg(a, 0, "old"), *n = arg(a, 1, "new"), *c = arg(a, 2, "count");
  if (!o || !n) fail("replace needs the old and the new text");
  return Value::string(py_replace(v.to_str(), o->to_str(), n->to_str(), c && !c->is_none() ? c->as_int() : -1));
}

Value f_int(const Value& v, CallArgs& a) {
  const Value* d = arg(a, 0, "default");
  Value def = d ? *d : Value::integer(0);
  if (v.is_int()) return Value::integer(v.as_int());
  if (v.kind == Value::Kind::Float) return std::isfinite(v.f) && std::fabs(v.f) < 9.2e18 ? Value::integer(int64_t(v.f)) : def;
  if (!v.is_string()) return def;
  std::string s = py_strip(v.s, true, true);
  const Value* base = arg(a, 1, "base");
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(s.c_str(), &end, base ? int(base->as_int()) : 10);
  if (!s.empty() && end && *end == 0 && errno == 0) return Value::integer(n);
  double f = std::strtod(s.c_str(), &end);
  if (!s.empty() && end && *end == 0 && std::isfinite(f) && std::fabs(f) < 9.2e18) return Value::integer(int64_t(f));
  return def;
}

Value f_float(const Value& v, CallArgs& a) {
  const Value* d = arg(a, 0, "default");
  if (v.is_number()) return Value::number(v.as_double());
  if (v.is_string()) {
    std::string s = py_strip(v.s, true, true);
    char* end = nullptr;
    double f = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == 0) return Value::number(f);
  }
  return d ? *d : Value::number(0);
}

Value f_abs(const Value& v, CallArgs&) {
  if (v.kind == Value::Kind::Float) return Value::number(std::fabs(v.f));
  if (!v.is_int()) fail("bad operand type for abs(): '{}'", v.type_name());
  return v.as_int() < 0 ? unary_op("-", v) : Value::integer(v.as_int());
}

Value f_round(const Value& v, CallArgs& a) {
  const Value* p = arg(a, 0, "precision");
  const Value* m = arg(a, 1, "method");
  std::string method = m ? m->to_str() : "common";
  if (!v.is_number()) fail("round: a number is required, not {}", v.type_name());
  double scale = std::pow(10.0, double(p ? p->as_int() : 0)), x = v.as_double() * scale;
  if (method == "common") {
    if (v.is_int()) return Value::integer(v.as_int());
    std::fesetround(FE_TONEAREST);
    x = std::nearbyint(x);
  } else if (method == "ceil") {
    x = std::ceil(x);
  } else if (method == "floor") {
    x = std::floor(x);
  } else {
    fail("method must be common, ceil or floor");
  }
  return Value::number(x / scale);
}

std::vector<Value> sorted(std::vector<Value> items, bool reverse, bool case_sensitive, const Value* attr) {
  auto key = [&](const Value& x) { return sort_key(attr && !attr->is_none() ? attr_path(x, attr->to_str()) : x, case_sensitive); };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    int c = compare(key(x), key(y), "<");
    return reverse ? c > 0 : c < 0;
  });
  return items;
}

Value f_sort(const Value& v, CallArgs& a) {
  return Value::make_list(sorted(iterate(v), flag(a, 0, "reverse", false), flag(a, 1, "case_sensitive", false), arg(a, 2, "attribute")));
}

Value f_dictsort(const Value& v, CallArgs& a) {
  if (!v.is_dict()) fail("dictsort: a mapping is required, not {}", v.type_name());
  const bool cs = flag(a, 0, "case_sensitive", false);
  const Value* by = arg(a, 1, "by");
  const size_t pos = by && by->to_str() == "value" ? 1 : 0;
  std::vector<Value> items = f_items(v, a).list->items;
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    int c = compare(sort_key(x.list->items[pos], cs), sort_key(y.list->items[pos], cs), "<");
    return flag(a, 2, "reverse", false) ? c > 0 : c < 0;
  });
  return Value::make_list(std::move(items));
}

Value f_unique(const Value& v, CallArgs& a) {
  const bool cs = flag(a, 0, "case_sensitive", false);
  const Value* attr = arg(a, 1, "attribute");
  std::vector<Value> out, seen;
  for (const Value& x : iterate(v)) {
    Value k = sort_key(attr && !attr->is_none() ? attr_path(x, attr->to_str()) : x, cs);
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) continue;
    seen.push_back(k);
    out.push_back(x);
  }
  return Value::make_list(std::move(out));
}

Value min_max(const Value& v, CallArgs& a, bool want_max) {
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined(want_max ? "No aggregated item, sequence was empty." : "No aggregated item, sequence was empty.");
  items = sorted(items, false, flag(a, 0, "case_sensitive", false), arg(a, 1, "attribute"));
  return want_max ? items.back() : items.front();
}
Value f_max(const Value& v, CallArgs& a) { return min_max(v, a, true); }
Value f_min(const Value& v, CallArgs& a) { return min_max(v, a, false); }

Value f_sum(const Value& v, CallArgs& a) {
  const Value* attr = arg(a, 0, "attribute");
  const Value* start = arg(a, 1, "start");
  Value acc = start ? *start : Value::integer(0);
  for (const Value& x : iterate(v)) acc = binary_op("+", acc, attr && !attr->is_none() ? attr_path(x, attr->to_str()) : x);
  return acc;
}

// select / reject / selectattr / rejectattr
Value select_impl(const Value& v, CallArgs& a, bool want, bool by_attr) {
  size_t first = by_attr ? 1 : 0;
  std::string attr = by_attr ? (a.pos.empty() ? fail("selectattr needs an attribute"), std::string() : a.pos[0].to_str()) : "";
  std::string test = a.pos.size() > first ? a.pos[first].to_str() : "";
  if (!test.empty() && !has_test(test)) fail("no test named '{}'", test);
  CallArgs targs;
  for (size_t i = first + 1; i < a.pos.size(); ++i) targs.pos.push_back(a.pos[i]);
  targs.kw = a.kw;
  std::vector<Value> out;
  for (const Value& x : iterate(v)) {
    Value t = by_attr ? attr_path(x, attr) : x;
    bool ok = test.empty() ? t.truthy() : apply_test(test, t, targs);
    if (ok == want) out.push_back(x);
  }
  return Value::make_list(std::move(out));
}
Value f_select(const Value& v, CallArgs& a) { return select_impl(v, a, true, false); }
Value f_reject(const Value& v, CallArgs& a) { return select_impl(v, a, false, false); }
Value f_selectattr(const Value& v, CallArgs& a) { return select_impl(v, a, true, true); }
Value f_rejectattr(const Value& v, CallArgs& a) { return select_impl(v, a, false, true); }

Value f_map(const Value& v, CallArgs& a) {
  std::vector<Value> out;
  if (a.pos.empty()) {
    const Value* attr = arg(a, 99, "attribute");
    if (!attr) fail("map needs a filter name or attribute=");
    const Value* def = arg(a, 99, "default");
    for (const Value& x : iterate(v)) {
      Value r = attr_path(x, attr->to_str());
      out.push_back(r.is_undefined() && def ? *def : r);
    }
    return Value::make_list(std::move(out));
  }
  std::string name = a.pos[0].to_str();
  if (!has_filter(name)) fail("no filter named '{}'", name);
  CallArgs fargs;
  fargs.pos.assign(a.pos.begin() + 1, a.pos.end());
  fargs.kw = a.kw;
  for (const Value& x : iterate(v)) {
    CallArgs copy = fargs;
    out.push_back(apply_filter(name, x, copy));
  }
  return Value::make_list(std::move(out));
}

Value f_attr(const Value& v, CallArgs& a) {
  const Value* n = arg(a, 0, "name");
  if (!n) fail("attr needs a name");
  if (v.is_dict()) return method_of(v, n->to_str());
  return get_attr(v, n->to_str());
}

Value f_escape(const Value& v, CallArgs&) {
  std::string out;
  for (char c : v.to_str()) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return Value::string(out);
}

Value f_indent(const Value& v, CallArgs& a) {
  const Value* w = arg(a, 0, "width");
  std::string ind = w && w->is_string() ? w->s : std::string(size_t(std::clamp<int64_t>(w ? w->as_int() : 4, 0, 1 << 16)), ' ');
  std::string s = v.to_str() + "\n";
  std::vector<std::string> lines;
  size_t b = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\n') {
      lines.push_back(s.substr(b, i - b));
      b = i + 1;
    }
  std::string rv;
  const bool blank = flag(a, 2, "blank", false);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) rv += "\n";
    rv += (i > 0 && (blank || !lines[i].empty())) ? ind + lines[i] : lines[i];
    if (rv.size() > kMaxText) fail("indent: the result is too large");
  }
  if (flag(a, 1, "first", false)) rv = ind + rv;
  return Value::string(rv);
}

Value f_center(const Value& v, CallArgs& a) {
  const Value* w = arg(a, 0, "width");
  std::string s = v.to_str();
  int64_t width = std::min<int64_t>(w ? w->as_int() : 80, 1 << 20), n = int64_t(utf8_length(s));
  if (width <= n) return Value::string(s);
  int64_t pad = width - n, left = pad / 2 + (pad & width & 1);
  return Value::string(std::string(size_t(left), ' ') + s + std::string(size_t(pad - left), ' '));
}

Value f_wordcount(const Value& v, CallArgs&) {
  int64_t n = 0;
  bool in = false;
  for (char32_t c : utf8_decode(v.to_str())) {
    bool w = c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c > 0x7F && !py_isspace(c));
    if (w && !in) ++n;
    in = w;
  }
  return Value::integer(n);
}

Value f_format(const Value& v, CallArgs& a) { return Value::string(percent_format(v.to_str(), a.pos)); }

Value f_batch(const Value& v, CallArgs& a) {
  const Value* n = arg(a, 0, "linecount");
  const Value* fill = arg(a, 1, "fill_with");
  int64_t size = n ? n->as_int() : 0;
  if (size <= 0) fail("batch: the size must be positive");
  std::vector<Value> out, cur;
  for (const Value& x : iterate(v)) {
    cur.push_back(x);
    if (int64_t(cur.size()) == size) out.push_back(Value::make_list(std::exchange(cur, {})));
  }
  if (!cur.empty()) {
    if (fill && !fill->is_none())
      while (int64_t(cur.size()) < size) cur.push_back(*fill);
    out.push_back(Value::make_list(std::move(cur)));
  }
  return Value::make_list(std::move(out));
}

Value f_truncate(const Value& v, CallArgs& a) {
  const Value *len = arg(a, 0, "length"), *end = arg(a, 2, "end"), *lw = arg(a, 3, "leeway");
  int64_t length = len ? len->as_int() : 255, leeway = lw && !lw->is_none() ? lw->as_int() : 5;
  std::string e = end ? end->to_str() : "...";
  std::vector<char32_t> cps = utf8_decode(v.to_str());
  if (int64_t(cps.size()) <= length + leeway) return Value::string(v.to_str());
  int64_t keep = std::clamp<int64_t>(length - int64_t(utf8_length(e)), 0, int64_t(cps.size()));
  std::string head = utf8_encode({cps.begin(), cps.begin() + keep});
  if (flag(a, 1, "killwords", false)) return Value::string(head + e);
  size_t sp = head.rfind(' ');
  return Value::string((sp == std::string::npos ? head : head.substr(0, sp)) + e);
}

const std::map<std::string, Filter>& filters() {
  static const std::map<std::string, Filter> m = {
      {"abs", f_abs}, {"attr", f_attr}, {"batch", f_batch}, {"capitalize", f_capitalize}, {"center", f_center},
      {"count", f_length}, {"d", f_default}, {"default", f_default}, {"dictsort", f_dictsort}, {"e", f_escape},
      {"escape", f_escape}, {"first", f_first}, {"float", f_float}, {"format", f_format}, {"indent", f_indent},
      {"int", f_int}, {"items", f_items}, {"join", f_join}, {"last", f_last}, {"length", f_length}, {"list", f_list},
      {"lower", f_lower}, {"map", f_map}, {"max", f_max}, {"min", f_min}, {"reject", f_reject},
      {"rejectattr", f_rejectattr}, {"replace", f_replace}, {"reverse", f_reverse}, {"round", f_round},
      {"safe", f_safe}, {"select", f_select}, {"selectattr", f_selectattr}, {"sort", f_sort}, {"string", f_string},
      {"sum", f_sum}, {"title", f_title}, {"tojson", f_tojson}, {"trim", f_trim}, {"truncate", f_truncate},
      {"unique", f_unique}, {"upper", f_upper}, {"wordcount", f_wordcount},
  };
  return m;
}

}  // namespace

bool has_filter(const std::string& name) { return filters().count(name) > 0; }

Value apply_filter(const std::string& name, const Value& v, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) fail("no filter named '{}'", name);
  return it->second(v, args);
}

}  // namespace baimo::jinja
