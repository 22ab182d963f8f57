#include "baimo/tokenizer/jinja/interp.h"

#include <ctime>

#include "baimo/tokenizer/jinja/filters.h"
#include "baimo/tokenizer/jinja/operators.h"
#include "baimo/tokenizer/jinja/parser.h"
#include "baimo/tokenizer/jinja/utf8.h"
#include "baimo/util/error.h"

namespace baimo::jinja {
namespace {

constexpr int kMaxCallDepth = 100;           // macro recursion
constexpr int64_t kMaxSteps = 20'000'000;    // statements and loop iterations per render
constexpr int64_t kMaxRange = 1'000'000;     // items of range()

using ScopePtr = std::shared_ptr<Scope>;
enum class Flow { Normal, Break, Continue };

// A runtime error that already names its place.
struct Located : Error {
  using Error::Error;
};

Value global_range(CallArgs& a) {
  if (!a.kw.empty() || a.pos.empty() || a.pos.size() > 3) fail("range expects 1 to 3 integer arguments");
  for (const Value& v : a.pos)
    if (!v.is_int()) fail("'{}' object cannot be interpreted as an integer", v.type_name());
  int64_t start = 0, stop = a.pos[0].as_int(), step = 1;
  if (a.pos.size() >= 2) start = a.pos[0].as_int(), stop = a.pos[1].as_int();
  if (a.pos.size() == 3) step = a.pos[2].as_int();
  if (step == 0) fail("range() arg 3 must not be zero");
  const long double count = step > 0 ? ((long double)stop - start) / step : ((long double)start - stop) / -step;
  if (count > kMaxRange) fail("range() is too long (more than {} items)", kMaxRange);
  std::vector<Value> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (int64_t(out.size()) >= kMaxRange) fail("range() is too long (more than {} items)", kMaxRange);
    out.push_back(Value::integer(i));
    if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
  }
  return Value::make_list(std::move(out));
}

Value global_namespace(CallArgs& a) {
  Value ns = Value::make_namespace();
  for (const Value& p : a.pos) {
    if (!p.is_dict()) fail("namespace() takes a mapping and keyword arguments");
    for (const auto& [k, v] : p.dict->items) ns.dict->set(k, v);
  }
  for (auto& [k, v] : a.kw) ns.dict->set(Value::string(k), v);
  return ns;
}

Value global_dict(CallArgs& a) {
  Value d = Value::make_dict();
  for (const Value& p : a.pos) {
    if (!p.is_dict()) fail("dict() takes a mapping and keyword arguments");
    for (const auto& [k, v] : p.dict->items) d.dict->set(k, v);
  }
  for (auto& [k, v] : a.kw) d.dict->set(Value::string(k), v);
  return d;
}

Value global_raise(CallArgs& a) {
  const Value* m = arg(a, 0, "message");
  fail("raise_exception: {}", m ? m->to_str() : std::string());
}

Value global_strftime_now(CallArgs& a) {
  const Value* f = arg(a, 0, "format");
  if (!f || !f->is_string()) fail("strftime_now expects a format string");
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[512];
  size_t n = f->s.empty() ? 0 : std::strftime(buf, sizeof buf, f->s.c_str(), &tm);
  return Value::string(std::string(buf, n));
}

class Interp {
 public:
  std::string run(const Body& body, ScopePtr root) {
    std::string out;
    exec(body, root, out);
    return out;
  }

 private:
  int64_t steps_ = 0;
  int call_depth_ = 0;

  void step() {
    if (++steps_ > kMaxSteps) fail("the template takes too many steps (more than {})", kMaxSteps);
  }

  static Value lookup(const std::string& name, const Scope* s) {
    for (; s; s = s->parent.get()) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return it->second;
    }
    if (name == "range") return Value::callable("range", global_range);
    if (name == "namespace") return Value::callable("namespace", global_namespace);
    if (name == "dict") return Value::callable("dict", global_dict);
    if (name == "raise_exception") return Value::callable("raise_exception", global_raise);
    if (name == "strftime_now") return Value::callable("strftime_now", global_strftime_now);
    return Value::undefined("'" + name + "' is undefined");
  }

  static ScopePtr child(const ScopePtr& parent) {
    auto s = std::make_shared<Scope>();
    s->parent = parent;
    return s;
  }

  // Evaluates e; an error without a place gets e's line and column.
  Value eval_at(const Expr& e, const ScopePtr& s) {
    try {
      return eval(e, s);
    } catch (const Located&) {
      throw;
    } catch (const Error& err) {
      throw Located(fmt::format("template line {}, column {}: {}", e.line, e.col, err.what()));
    }
  }

  CallArgs eval_args(const Expr& e, const ScopePtr& s, size_t first) {
    CallArgs a;
    for (size_t i = first; i < e.args.size(); ++i) a.pos.push_back(eval(*e.args[i], s));
    for (const auto& [k, v] : e.kwargs) a.kw.emplace_back(k, eval(*v, s));
    return a;
  }

  Value eval(const Expr& e, const ScopePtr& s) {
    using K = Expr::Kind;
    switch (e.kind) {
      case K::Literal: return e.value;
      case K::Name: return lookup(e.name, s.get());
      case K::List: {
        std::vector<Value> items;
        for (const auto& x : e.args) items.push_back(eval(*x, s));
        return Value::make_list(std::move(items), e.flag);
      }
      case K::Dict: {
        Value d = Value::make_dict();
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          Value k = eval(*e.args[i], s);
          if (k.is_dict() || (k.is_list() && !k.is_tuple)) fail("unhashable type: '{}'", k.type_name());
          d.dict->set(k, eval(*e.args[i + 1], s));
        }
        return d;
      }
      case K::Attr: return get_attr(eval(*e.args[0], s), e.name);
      case K::Item: return get_item(eval(*e.args[0], s), eval(*e.args[1], s));
      case K::Slice: return slice(eval(*e.args[0], s), e, s);
      case K::Call: {
        Value f = eval(*e.args[0], s);
        CallArgs a = eval_args(e, s, 1);
        if (f.is_undefined()) undefined_error(f);
        if (f.kind != Value::Kind::Callable) fail("'{}' object is not callable", f.type_name());
        return f.fn->fn(a);
      }
      case K::Filter: {
        Value v = eval(*e.args[0], s);
        CallArgs a = eval_args(e, s, 1);
        return apply_filter(e.name, v, a);
      }
      case K::Test: {
        Value v = eval(*e.args[0], s);
        CallArgs a = eval_args(e, s, 1);
        return Value::boolean(apply_test(e.name, v, a) != e.flag);
      }
      case K::Unary: return unary_op(e.name, eval(*e.args[0], s));
      case K::Binary: {
        Value a = eval(*e.args[0], s);
        if (e.name == "and") return a.truthy() ? eval(*e.args[1], s) : a;
        if (e.name == "or") return a.truthy() ? a : eval(*e.args[1], s);
        return binary_op(e.name, a, eval(*e.args[1], s));
      }
      case K::Cond:
        if (eval(*e.args[0], s).truthy()) return eval(*e.args[1], s);
        return e.args[2] ? eval(*e.args[2], s) : Value::undefined("the inline if expression has no else");
    }
    return Value::undefined();
  }

  Value slice(const Value& v, const Expr& e, const ScopePtr& s) {
    if (v.is_undefined()) undefined_error(v);
    int64_t bound[3] = {0, 0, 1};
    bool given[3] = {false, false, false};
    for (int k = 0; k < 3; ++k) {
      if (!e.args[size_t(k) + 1]) continue;
      Value x = eval(*e.args[size_t(k) + 1], s);
      if (x.is_none()) continue;
      if (!x.is_int()) fail("slice indices must be integers or None");
      bound[k] = x.as_int();
      given[k] = true;
    }
    if (bound[2] == 0) fail("slice step cannot be zero");
    if (!v.is_string() && !v.is_list()) return Value::undefined(fmt::format("'{}' object is not subscriptable", v.type_name()));
    std::vector<char32_t> cps;
    int64_t n = v.is_string() ? int64_t((cps = utf8_decode(v.s)).size()) : int64_t(v.list->items.size());
    const int64_t step = bound[2];
    auto clamp = [&](int64_t i, bool is_given, bool is_start) {
      if (!is_given) return step > 0 ? (is_start ? 0 : n) : (is_start ? n - 1 : -1);
      if (i < 0) i += n;
      if (step > 0) return std::clamp<int64_t>(i, 0, n);
      return std::clamp<int64_t>(i, -1, n - 1);
    };
    int64_t b = clamp(bound[0], given[0], true), en = clamp(bound[1], given[1], false);
    std::vector<size_t> idx;
    for (int64_t i = b; step > 0 ? i < en : i > en;) {
      idx.push_back(size_t(i));
      if (__builtin_add_overflow(i, step, &i)) break;
    }
    if (v.is_string()) {
      std::string out;
      for (size_t i : idx) utf8_append(out, cps[i]);
      return Value::string(out);
    }
    std::vector<Value> out;
    for (size_t i : idx) out.push_back(v.list->items[i]);
    return Value::make_list(std::move(out), v.is_tuple);
  }

  void assign(const Target& t, const Value& v, Scope& s) {
    if (!t.attr.empty()) {
      Value ns = lookup(t.names[0], &s);
      if (ns.kind != Value::Kind::Namespace) fail("cannot assign attribute on non-namespace object");
      if (reaches(v, ns.dict.get())) fail("a namespace cannot contain itself");
      ns.dict->set(Value::string(t.attr), v);
      return;
    }
    if (!t.tuple) {
      s.vars[t.names[0]] = v;
      return;
    }
    std::vector<Value> items = iterate(v);
    if (items.size() > t.names.size()) fail("too many values to unpack (expected {})", t.names.size());
    if (items.size() < t.names.size()) fail("not enough values to unpack (expected {})", t.names.size());
    for (size_t i = 0; i < items.size(); ++i) s.vars[t.names[i]] = items[i];
  }

  static void append(std::string& out, const std::string& text) {
    if (out.size() + text.size() > kMaxText) fail("the rendered text is too large (more than {} bytes)", kMaxText);
    out += text;
  }

  Flow exec(const Body& body, const ScopePtr& s, std::string& out) {
    for (const auto& st : body) {
      Flow f;
      try {
        f = exec_one(*st, s, out);
      } catch (const Located&) {
        throw;
      } catch (const Error& err) {
        throw Located(fmt::format("template line {}, column {}: {}", st->line, st->col, err.what()));
      }
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }

  Flow exec_one(const Stmt& st, const ScopePtr& s, std::string& out) {
    step();
    using K = Stmt::Kind;
    switch (st.kind) {
      case K::Text: append(out, st.text); return Flow::Normal;
      case K::Output: append(out, eval_at(*st.expr, s).to_str()); return Flow::Normal;
      case K::If:
        for (const auto& [cond, body] : st.branches)
          if (!cond || eval_at(*cond, s).truthy()) return exec(body, s, out);
        return Flow::Normal;
      case K::For: return exec_for(st, s, out);
      case K::Set: assign(st.target, eval_at(*st.expr, s), *s); return Flow::Normal;
      case K::SetBlock:
      case K::FilterBlock: {
        std::string text;
        exec(st.body, s, text);
        ScopePtr inner = child(s);
        inner->vars[kBlockTextName] = Value::string(text);
        Value v = eval_at(*st.expr, inner);
        if (st.kind == K::SetBlock) assign(st.target, v, *s);
        else append(out, v.to_str());
        return Flow::Normal;
      }
      case K::Macro: s->vars[st.text] = make_macro(st, s); return Flow::Normal;
      case K::With: {
        ScopePtr inner = child(s);
        for (const auto& [name, e] : st.params) inner->vars[name] = eval_at(*e, s);
        return exec(st.body, inner, out);
      }
      case K::Break: return Flow::Break;
      case K::Continue: return Flow::Continue;
      case K::Block: return exec(st.body, s, out);
    }
    return Flow::Normal;
  }

  Flow exec_for(const Stmt& st, const ScopePtr& s, std::string& out) {
    Value seq = eval_at(*st.expr, s);
    std::vector<Value> all = iterate(seq);
    auto items = std::make_shared<ListObj>();
    if (st.cond) {
      for (const Value& v : all) {
        ScopePtr probe = child(s);
        assign(st.target, v, *probe);
        if (eval_at(*st.cond, probe).truthy()) items->items.push_back(v);
      }
    } else {
      items->items = std::move(all);
    }
    if (items->items.empty()) {
      exec(st.else_body, child(s), out);
      return Flow::Normal;
    }
    auto loop = std::make_shared<LoopObj>();
    loop->items = items;
    Value loop_value;
    loop_value.kind = Value::Kind::Loop;
    loop_value.loop = loop;
    std::weak_ptr<LoopObj> weak = loop;
    loop->cycle_fn = Value::callable("loop.cycle", [weak](CallArgs& a) {
      auto l = weak.lock();
      if (!l || a.pos.empty()) fail("loop.cycle needs at least one item");
      return a.pos[l->index0 % a.pos.size()];
    });
    for (size_t i = 0; i < items->items.size(); ++i) {
      step();
      loop->index0 = i;
      ScopePtr inner = child(s);
      assign(st.target, items->items[i], *inner);
      inner->vars["loop"] = loop_value;
      if (exec(st.body, inner, out) == Flow::Break) break;
    }
    return Flow::Normal;
  }

  Value make_macro(const Stmt& st, const ScopePtr& def_scope) {
    std::weak_ptr<Scope> weak = def_scope;
    const Stmt* m = &st;
    return Value::callable(st.text, [this, weak, m](CallArgs& a) {
      ScopePtr parent = weak.lock();
      if (!parent) fail("macro '{}' is called after its scope ended", m->text);
      if (call_depth_ >= kMaxCallDepth) fail("macro '{}': recursion deeper than {} calls", m->text, kMaxCallDepth);
      ScopePtr s = child(parent);
      std::vector<Value> varargs;
      for (size_t i = 0; i < a.pos.size(); ++i) {
        if (i < m->params.size()) s->vars[m->params[i].first] = a.pos[i];
        else varargs.push_back(a.pos[i]);
      }
      Value kwargs = Value::make_dict();
      for (auto& [k, v] : a.kw) {
        bool is_param = false;
        for (size_t i = 0; i < m->params.size(); ++i)
          if (m->params[i].first == k) {
            if (i < a.pos.size()) fail("macro '{}' got multiple values for argument '{}'", m->text, k);
            s->vars[k] = v;
            is_param = true;
          }
        if (!is_param) kwargs.dict->set(Value::string(k), v);
      }
      for (const auto& [name, def] : m->params)
        if (!s->vars.count(name))
          s->vars[name] = def ? eval_at(*def, s) : Value::undefined("parameter '" + name + "' was not provided");
      s->vars["varargs"] = Value::make_list(std::move(varargs), true);
      s->vars["kwargs"] = kwargs;
      ++call_depth_;
      std::string text;
      try {
        exec(m->body, s, text);
      } catch (...) {
        --call_depth_;
        throw;
      }
      --call_depth_;
      return Value::string(text);
    });
  }
};

}  // namespace

std::string run_template(const Body& body, std::shared_ptr<Scope> root) { return Interp().run(body, std::move(root)); }

}  // namespace baimo::jinja
