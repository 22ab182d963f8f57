// Jinja's built-in filters and tests, with transformers' tojson (json.dumps with ensure_ascii=False,
// indent, separators, sort_keys; not jinja2's HTML-safe one), and the methods of Python's str,
// dict and list that templates call (strip, split, startswith, get, items, ...).
// A filter or test gets the value, its positional and keyword arguments; `env` lets map/select
// apply other filters and tests by name. Errors are baimo::Error (the caller adds the location).
#pragma once
#include <string>

#include "baimo/tokenizer/jinja/value.h"

namespace baimo::jinja {

bool has_filter(const std::string& name);
bool has_test(const std::string& name);
Value apply_filter(const std::string& name, const Value& v, CallArgs& args);
bool apply_test(const std::string& name, const Value& v, CallArgs& args);

// Python's json.dumps(v, ensure_ascii, indent (null: None; else the text of one level), separators,
// sort_keys).
std::string json_dumps(const Value& v, bool ensure_ascii, const std::string* indent, const std::string& item_sep,
                       const std::string& key_sep, bool sort_keys);

// obj.name for str, dict and list methods: a bound callable, or Undefined if Python has no such method.
Value method_of(const Value& obj, const std::string& name);

// Python's getattr/getitem as jinja2's sandbox does them (attribute, then item; or the reverse).
Value get_attr(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
// Python's iteration: list items, dict keys, str code points, Undefined empty; else an error.
std::vector<Value> iterate(const Value& v);
// Python's len().
int64_t py_len(const Value& v);
// Python's `needle in hay`.
bool contains(const Value& hay, const Value& needle);

// Argument helpers: positional index or keyword name, else the default.
const Value* arg(CallArgs& a, size_t index, const char* name);

}  // namespace baimo::jinja
