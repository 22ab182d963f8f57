// The values a Jinja template computes with, modelled on the Python objects jinja2 sees:
// Undefined (jinja2's default Undefined: prints as "", is falsy, iterates as empty, and raises on
// arithmetic, ordering, attribute/item access and calls), None, bool, int (64-bit; overflow is an
// error where Python would grow), float, str (UTF-8; indexing, slicing and length count code points),
// list and tuple (shared, like Python references), dict (insertion-ordered, shared), namespace()
// (the one object a template may mutate, via `set ns.attr`), callables (macros, globals, bound
// methods) and the for-loop object.
// to_str() is Python's str() (what {{ }} prints), repr() Python's repr(); equals() is Python's ==
// (1 == 1.0 == True), compare() its <, raising baimo::Error on mismatched types.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace baimo::jinja {

struct Value;
struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
};
using NativeFn = std::function<Value(CallArgs&)>;

struct ListObj;
struct DictObj;
struct LoopObj;
struct Callable {
  std::string name;
  NativeFn fn;
};

struct Value {
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable, Loop };
  Kind kind = Kind::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;  // String; for Undefined: the hint jinja2 would raise with ("'x' is undefined")
  std::shared_ptr<ListObj> list;  // List (tuple when is_tuple)
  std::shared_ptr<DictObj> dict;  // Dict, Namespace
  std::shared_ptr<Callable> fn;
  std::shared_ptr<LoopObj> loop;
  bool is_tuple = false;

  // Copies of long strings are charged to the render's budget (copy_budget_reset), so that no
  // template can exhaust memory by copying one large string many times.
  Value() = default;
  Value(const Value& o);
  Value& operator=(const Value& o);
  Value(Value&&) noexcept = default;
  Value& operator=(Value&&) noexcept = default;
  ~Value() = default;

  static Value undefined(std::string hint = {});
  static Value none();
  static Value boolean(bool v);
  static Value integer(int64_t v);
  static Value number(double v);
  static Value string(std::string v);
  static Value make_list(std::vector<Value> items, bool tuple = false);
  static Value make_dict();
  static Value make_namespace();
  static Value callable(std::string name, NativeFn fn);
  static Value from_json(const nlohmann::ordered_json& j);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_int() const { return kind == Kind::Int || kind == Kind::Bool; }  // Python: bool is an int
  bool is_number() const { return is_int() || kind == Kind::Float; }
  bool is_list() const { return kind == Kind::List; }
  bool is_dict() const { return kind == Kind::Dict; }
  double as_double() const { return kind == Kind::Float ? f : kind == Kind::Bool ? (b ? 1 : 0) : double(i); }
  int64_t as_int() const { return kind == Kind::Bool ? (b ? 1 : 0) : i; }

  bool truthy() const;
  std::string to_str() const;
  std::string repr() const;
  const char* type_name() const;  // Python's: "int", "str", "dict", ...
};

struct ListObj {
  std::vector<Value> items;
  int depth = 1;  // nesting of lists, dicts and namespaces inside (bounded: kMaxNesting)
};

struct DictObj {
  std::vector<std::pair<Value, Value>> items;
  int depth = 1;
  const Value* find(const Value& key) const;
  const Value* find(const std::string& key) const;
  void set(const Value& key, Value v);
};

// The for-loop's `loop`: index0 of length over the iterated items.
struct LoopObj {
  std::shared_ptr<ListObj> items;
  size_t index0 = 0;
  Value cycle_fn;
};

inline constexpr uint64_t kMaxCopiedBytes = uint64_t(1) << 30;  // per render
void copy_budget_reset();

inline constexpr int kMaxNesting = 400;
int nesting(const Value& v);  // 0 for scalars
// Whether `v` holds (at any depth) the namespace or dict `target` (a reference cycle).
bool reaches(const Value& v, const DictObj* target);

bool equals(const Value& a, const Value& b);
int compare(const Value& a, const Value& b, const char* op);  // <0, 0, >0; throws on mismatch
// Python's float repr: shortest round-trip digits, "1e+16", "1e-05", "2.0".
std::string float_repr(double v);
// Python's repr of a str (quote choice and escapes of non-printable code points).
std::string string_repr(const std::string& s);

}  // namespace baimo::jinja
