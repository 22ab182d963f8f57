// Python's json.dumps on template values (transformers' tojson filter).
#include <algorithm>
#include <cstdio>

#include "baimo/tokenizer/jinja/filters.h"
#include "baimo/tokenizer/jinja/operators.h"
#include "baimo/tokenizer/jinja/utf8.h"
#include "baimo/util/error.h"

namespace baimo::jinja {
namespace {

struct Dumper {
  bool ensure_ascii;
  bool pretty;
  std::string indent;
  std::string item_sep, key_sep;
  bool sort_keys;
  std::string out;
  int depth = 0;

  void string(const std::string& s) {
    out += '"';
    for (char32_t c : utf8_decode(s)) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default: {
          char buf[16];
          if (c < 0x20 || (ensure_ascii && c > 0x7E)) {
            if (c >= 0x10000) {
              char32_t v = c - 0x10000;
              std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", unsigned(0xD800 + (v >> 10)), unsigned(0xDC00 + (v & 0x3FF)));
            } else {
              std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
            }
            out += buf;
          } else {
            utf8_append(out, c);
          }
        }
      }
    }
    out += '"';
  }

  void newline() {
    if (!pretty) return;
    out += '\n';
    for (int k = 0; k < depth; ++k) out += indent;
  }

  std::string key_text(const Value& k) {
    switch (k.kind) {
      case Value::Kind::String: return k.s;
      case Value::Kind::Bool: return k.b ? "true" : "false";
      case Value::Kind::None: return "null";
      case Value::Kind::Int: return std::to_string(k.i);
      case Value::Kind::Float: return number(k.f);
      default: fail("keys must be str, int, float, bool or None, not {}", k.type_name());
    }
  }

  static std::string number(double f) {
    if (f != f) return "NaN";
    if (f == 1.0 / 0.0) return "Infinity";
    if (f == -1.0 / 0.0) return "-Infinity";
    return float_repr(f);
  }

  void dump(const Value& v) {
    if (out.size() > kMaxText) fail("tojson: the result is too large");
    if (depth > 200) fail("tojson: nesting is too deep");
    switch (v.kind) {
      case Value::Kind::None: out += "null"; return;
      case Value::Kind::Bool: out += v.b ? "true" : "false"; return;
      case Value::Kind::Int: out += std::to_string(v.i); return;
      case Value::Kind::Float: out += number(v.f); return;
      case Value::Kind::String: string(v.s); return;
      case Value::Kind::List: {
        if (v.list->items.empty()) {
          out += "[]";
          return;
        }
        out += '[';
        ++depth;
        newline();
        for (size_t i = 0; i < v.list->items.size(); ++i) {
          if (i) {
            out += item_sep;
            newline();
          }
          dump(v.list->items[i]);
        }
        --depth;
        newline();
        out += ']';
        return;
      }
      case Value::Kind::Dict: {
        if (v.dict->items.empty()) {
          out += "{}";
          return;
        }
        std::vector<std::pair<std::string, const Value*>> items;
        for (const auto& [k, x] : v.dict->items) items.emplace_back(key_text(k), &x);
        if (sort_keys)
          std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        out += '{';
        ++depth;
        newline();
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) {
            out += item_sep;
            newline();
          }
          string(items[i].first);
          out += key_sep;
          dump(*items[i].second);
        }
        --depth;
        newline();
        out += '}';
        return;
      }
      default: fail("Object of type {} is not JSON serializable", v.type_name());
    }
  }
};

}  // namespace

std::string json_dumps(const Value& v, bool ensure_ascii, const std::string* indent, const std::string& item_sep,
                       const std::string& key_sep, bool sort_keys) {
  Dumper d{ensure_ascii, indent != nullptr, indent ? *indent : std::string(), item_sep, key_sep, sort_keys, {}};
  d.dump(v);
  return std::move(d.out);
}

}  // namespace baimo::jinja
