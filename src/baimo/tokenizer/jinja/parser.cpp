#include "baimo/tokenizer/jinja/parser.h"

#include <charconv>
#include <cstdlib>
#include <initializer_list>

#include "baimo/tokenizer/jinja/filters.h"

namespace baimo::jinja {
namespace {

constexpr int kMaxDepth = 200;  // nesting of expressions and blocks (the C++ stack is finite)

std::string describe(const Token& t) {
  switch (t.type) {
    case Tok::Eof: return "end of template";
    case Tok::BlockEnd: return "end of statement block";
    case Tok::VarEnd: return "end of print statement";
    case Tok::Data: return "template text";
    case Tok::String: return "string";
    default: return "'" + t.text + "'";
  }
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& t) : t_(t) {}

  Body parse_all() {
    Body body = subparse({});
    if (cur().type != Tok::Eof) error("unexpected " + describe(cur()));
    return body;
  }

 private:
  const std::vector<Token>& t_;
  size_t p_ = 0;
  int depth_ = 0;

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& q) : p(q) {
      if (++p.depth_ > kMaxDepth) p.error("template nested too deeply (more than 200 levels)");
    }
    ~DepthGuard() { --p.depth_; }
  };

  const Token& cur() const { return t_[p_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  void next() {
    if (p_ + 1 < t_.size()) ++p_;
  }
  [[noreturn]] void error(const std::string& what) const { syntax_error(cur().line, cur().col, what); }
  [[noreturn]] void error_at(const Token& t, const std::string& what) const { syntax_error(t.line, t.col, what); }
  bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == Tok::Name && cur().text == n; }
  void expect_op(const char* op) {
    if (!is_op(op)) error(std::string("expected '") + op + "', got " + describe(cur()));
    next();
  }
  std::string expect_name() {
    if (cur().type != Tok::Name) error("expected a name, got " + describe(cur()));
    std::string n = cur().text;
    next();
    return n;
  }
  void expect_block_end() {
    if (cur().type != Tok::BlockEnd) error("expected end of statement block, got " + describe(cur()));
    next();
  }

  ExprPtr make(Expr::Kind k, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = at.line;
    e->col = at.col;
    return e;
  }

  // Statements until a block tag whose name is in `ends` (left as the current token), or Eof.
  Body subparse(std::initializer_list<const char*> ends) {
    DepthGuard g(*this);
    Body body;
    while (cur().type != Tok::Eof) {
      const Token& t = cur();
      if (t.type == Tok::Data) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Text;
        s->text = t.text;
        body.push_back(std::move(s));
        next();
      } else if (t.type == Tok::VarBegin) {
        next();
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Output;
        s->line = t.line;
        s->col = t.col;
        s->expr = parse_tuple(true);
        if (cur().type != Tok::VarEnd) error("unexpected " + describe(cur()) + " in a print statement");
        next();
        body.push_back(std::move(s));
      } else if (t.type == Tok::BlockBegin) {
        next();
        if (cur().type != Tok::Name) error("expected a tag name, got " + describe(cur()));
        for (const char* e : ends)
          if (cur().text == e) return body;
        body.push_back(parse_statement(t, ends));
      } else {
        error("unexpected " + describe(t));
      }
    }
    if (ends.size()) {
      std::string want;
      for (const char* e : ends) want += (want.empty() ? "'" : " or '") + std::string(e) + "'";
      error("unexpected end of template: looking for " + want);
    }
    return body;
  }

  StmtPtr parse_statement(const Token& open, std::initializer_list<const char*> outer_ends) {
    const Token& tag = cur();
    auto s = std::make_unique<Stmt>();
    s->line = open.line;
    s->col = open.col;
    const std::string name = tag.text;
    next();
    if (name == "if") {
      s->kind = Stmt::Kind::If;
      ExprPtr cond = parse_tuple(false);
      expect_block_end();
      while (true) {
        Body b = subparse({"elif", "else", "endif"});
        s->branches.emplace_back(std::move(cond), std::move(b));
        std::string which = cur().text;
        next();
        if (which == "elif") {
          cond = parse_tuple(false);
          expect_block_end();
        } else if (which == "else") {
          expect_block_end();
          s->branches.emplace_back(nullptr, subparse({"endif"}));
          next();
          expect_block_end();
          break;
        } else {
          expect_block_end();
          break;
        }
      }
    } else if (name == "for") {
      s->kind = Stmt::Kind::For;
      s->target = parse_target(false);
      if (!is_name("in")) error("expected 'in', got " + describe(cur()));
      next();
      s->expr = parse_tuple(false, true);
      if (is_name("if")) {
        next();
        s->cond = parse_expression(true);
      }
      if (is_name("recursive")) error("recursive for loops are not supported");
      expect_block_end();
      s->body = subparse({"endfor", "else"});
      if (cur().text == "else") {
        next();
        expect_block_end();
        s->else_body = subparse({"endfor"});
      }
      next();
      expect_block_end();
    } else if (name == "set") {
      s->target = parse_target(true);
      if (is_op("=")) {
        s->kind = Stmt::Kind::Set;
        next();
        s->expr = parse_tuple(true);
        expect_block_end();
      } else {
        if (!s->target.attr.empty() || s->target.tuple) error("a block set assigns one name");
        s->kind = Stmt::Kind::SetBlock;
        s->expr = parse_block_filters(tag);
        expect_block_end();
        s->body = subparse({"endset"});
        next();
        expect_block_end();
      }
    } else if (name == "macro") {
      s->kind = Stmt::Kind::Macro;
      s->text = expect_name();
      expect_op("(");
      while (!is_op(")")) {
        if (!s->params.empty()) expect_op(",");
        if (is_op(")")) break;
        std::string pname = expect_name();
        ExprPtr def;
        if (is_op("=")) {
          next();
          def = parse_expression(true);
        } else if (!s->params.empty() && s->params.back().second) {
          error("a parameter without a default follows one with a default");
        }
        s->params.emplace_back(pname, std::move(def));
      }
      next();
      expect_block_end();
      s->body = subparse({"endmacro"});
      next();
      if (cur().type == Tok::Name) next();
      expect_block_end();
    } else if (name == "filter") {
      s->kind = Stmt::Kind::FilterBlock;
      s->expr = parse_block_filters(tag, true);
      expect_block_end();
      s->body = subparse({"endfilter"});
      next();
      expect_block_end();
    } else if (name == "with") {
      s->kind = Stmt::Kind::With;
      while (cur().type != Tok::BlockEnd) {
        if (!s->params.empty()) expect_op(",");
        std::string n = expect_name();
        expect_op("=");
        s->params.emplace_back(n, parse_expression(true));
      }
      expect_block_end();
      s->body = subparse({"endwith"});
      next();
      expect_block_end();
    } else if (name == "break" || name == "continue") {
      s->kind = name == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
      expect_block_end();
    } else if (name == "generation") {
      s->kind = Stmt::Kind::Block;
      expect_block_end();
      s->body = subparse({"endgeneration"});
      next();
      expect_block_end();
    } else {
      std::string want;
      for (const char* e : outer_ends) want += (want.empty() ? " (looking for '" : "' or '") + std::string(e);
      if (!want.empty()) want += "')";
      error_at(tag, "unknown tag '" + name + "'" + want);
    }
    return s;
  }

  // for: names, a, b, (a, b); set: also ns.attr.
  Target parse_target(bool allow_attr) {
    Target t;
    bool paren = is_op("(");
    if (paren) next();
    t.names.push_back(expect_name());
    if (allow_attr && !paren && is_op(".")) {
      next();
      t.attr = expect_name();
      return t;
    }
    while (is_op(",")) {
      next();
      t.tuple = true;
      if (cur().type != Tok::Name) break;
      t.names.push_back(expect_name());
    }
    if (paren) {
      expect_op(")");
      t.tuple = true;
    }
    for (const auto& n : t.names)
      if (n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None")
        error("cannot assign to '" + n + "'");
    return t;
  }

  // "| f(args) | g" after `set x` or the filter chain of `{% filter f %}`, applied to kBlockTextName.
  ExprPtr parse_block_filters(const Token& at, bool first_without_pipe = false) {
    ExprPtr e = make(Expr::Kind::Name, at);
    e->name = kBlockTextName;
    bool first = true;
    while (is_op("|") || (first && first_without_pipe)) {
      if (!(first && first_without_pipe)) next();
      first = false;
      e = parse_filter(std::move(e));
    }
    return e;
  }

  // Expressions, separated by commas into a tuple. for_iter: no condexpr (its `if` filters).
  ExprPtr parse_tuple(bool with_condexpr, bool for_iter = false) {
    const Token& at = cur();
    std::vector<ExprPtr> items;
    bool comma = false;
    while (true) {
      if (!items.empty()) {
        if (!is_op(",")) break;
        next();
        comma = true;
      }
      if (cur().type == Tok::BlockEnd || cur().type == Tok::VarEnd || is_op(")") || (for_iter && is_name("if")) ||
          (for_iter && is_name("recursive")) || is_op("=")) {
        if (items.empty()) error("expected an expression, got " + describe(cur()));
        break;
      }
      items.push_back(parse_expression(with_condexpr));
    }
    if (!comma) return std::move(items[0]);
    ExprPtr t = make(Expr::Kind::List, at);
    t->flag = true;
    t->args = std::move(items);
    return t;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard g(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    const Token& at = cur();
    ExprPtr e = parse_or();
    while (is_name("if")) {
      next();
      ExprPtr c = make(Expr::Kind::Cond, at);
      c->args.push_back(parse_or());
      c->args.push_back(std::move(e));
      if (is_name("else")) {
        next();
        c->args.push_back(parse_condexpr());
      } else {
        c->args.push_back(nullptr);
      }
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(std::string op, ExprPtr l, ExprPtr r, const Token& at) {
    ExprPtr b = make(Expr::Kind::Binary, at);
    b->name = std::move(op);
    b->line = l->line;  // errors point at the start of the expression
    b->col = l->col;
    b->args.push_back(std::move(l));
    b->args.push_back(std::move(r));
    return b;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      const Token& at = cur();
      next();
      e = binary("or", std::move(e), parse_and(), at);
    }
    return e;
  }
  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      const Token& at = cur();
      next();
      e = binary("and", std::move(e), parse_not(), at);
    }
    return e;
  }
  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard g(*this);
      const Token& at = cur();
      next();
      ExprPtr u = make(Expr::Kind::Unary, at);
      u->name = "not";
      u->args.push_back(parse_not());
      return u;
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    ExprPtr e = parse_math1();
    while (true) {
      const Token& at = cur();
      std::string op;
      if (cur().type == Tok::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
                                    cur().text == ">" || cur().text == ">=")) {
        op = cur().text;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
        op = "notin";
        next();
        next();
      } else {
        break;
      }
      // jinja2 chains a < b < c as a < b and b < c; templates rarely chain, so keep it binary.
      e = binary(op, std::move(e), parse_math1(), at);
    }
    return e;
  }
  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& at = cur();
      std::string op = cur().text;
      next();
      e = binary(op, std::move(e), parse_concat(), at);
    }
    return e;
  }
  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      const Token& at = cur();
      next();
      e = binary("~", std::move(e), parse_math2(), at);
    }
    return e;
  }
  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& at = cur();
      std::string op = cur().text;
      next();
      e = binary(op, std::move(e), parse_pow(), at);
    }
    return e;
  }
  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      const Token& at = cur();
      next();
      e = binary("**", std::move(e), parse_unary(true), at);
    }
    return e;
  }
  ExprPtr parse_unary(bool with_filter) {
    DepthGuard g(*this);
    const Token& at = cur();
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      std::string op = cur().text;
      next();
      e = make(Expr::Kind::Unary, at);
      e->name = op;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    if (t.type == Tok::Name) {
      next();
      if (t.text == "true" || t.text == "True") return literal(Value::boolean(true), t);
      if (t.text == "false" || t.text == "False") return literal(Value::boolean(false), t);
      if (t.text == "none" || t.text == "None") return literal(Value::none(), t);
      ExprPtr e = make(Expr::Kind::Name, t);
      e->name = t.text;
      return e;
    }
    if (t.type == Tok::String) {
      std::string s;
      while (cur().type == Tok::String) {
        s += cur().text;
        next();
      }
      return literal(Value::string(s), t);
    }
    if (t.type == Tok::Int) {
      next();
      int64_t v = 0;
      auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
      if (r.ec != std::errc()) error_at(t, "integer literal " + t.text + " is out of the 64-bit range");
      return literal(Value::integer(v), t);
    }
    if (t.type == Tok::Float) {
      next();
      return literal(Value::number(std::strtod(t.text.c_str(), nullptr)), t);
    }
    if (is_op("(")) {
      next();
      if (is_op(")")) {
        next();
        ExprPtr e = make(Expr::Kind::List, t);
        e->flag = true;
        return e;
      }
      ExprPtr e = parse_tuple(true);
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      next();
      ExprPtr e = make(Expr::Kind::List, t);
      while (!is_op("]")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("]")) break;
        e->args.push_back(parse_expression(true));
      }
      next();
      return e;
    }
    if (is_op("{")) {
      next();
      ExprPtr e = make(Expr::Kind::Dict, t);
      while (!is_op("}")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("}")) break;
        e->args.push_back(parse_expression(true));
        expect_op(":");
        e->args.push_back(parse_expression(true));
      }
      next();
      return e;
    }
    error("expected an expression, got " + describe(t));
  }

  ExprPtr literal(Value v, const Token& at) {
    ExprPtr e = make(Expr::Kind::Literal, at);
    e->value = std::move(v);
    return e;
  }

  // A token standing for where expression e starts (for error positions).
  const Token* first_token(const Expr& e) {
    pos_token_ = Token{Tok::Name, "", e.line, e.col};
    return &pos_token_;
  }
  Token pos_token_{Tok::Eof, "", 0, 0};

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      const Token& at = cur();
      if (is_op(".")) {
        next();
        if (cur().type == Tok::Name) {
          ExprPtr a = make(Expr::Kind::Attr, *first_token(*e));
          a->name = cur().text;
          a->args.push_back(std::move(e));
          e = std::move(a);
          next();
        } else if (cur().type == Tok::Int) {
          ExprPtr i = make(Expr::Kind::Item, at);
          i->args.push_back(std::move(e));
          i->args.push_back(literal(Value::integer(std::atoll(cur().text.c_str())), cur()));
          e = std::move(i);
          next();
        } else {
          error("expected a name after '.', got " + describe(cur()));
        }
      } else if (is_op("[")) {
        next();
        e = parse_subscript(std::move(e), at);
        expect_op("]");
      } else if (is_op("(")) {
        e = parse_call(std::move(e), Expr::Kind::Call, at);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj, const Token& at) {
    ExprPtr parts[3];
    bool slice = false;
    if (!is_op(":")) parts[0] = parse_expression(true);
    if (is_op(":")) {
      slice = true;
      next();
      if (!is_op("]") && !is_op(":")) parts[1] = parse_expression(true);
      if (is_op(":")) {
        next();
        if (!is_op("]")) parts[2] = parse_expression(true);
      }
    }
    if (!slice) {
      ExprPtr i = make(Expr::Kind::Item, *first_token(*obj));
      i->args.push_back(std::move(obj));
      i->args.push_back(std::move(parts[0]));
      return i;
    }
    ExprPtr s = make(Expr::Kind::Slice, *first_token(*obj));
    s->args.push_back(std::move(obj));
    for (auto& p : parts) s->args.push_back(std::move(p));
    return s;
  }

  // "(" args ")" appended to `node` (whose args[0] is the callee / filtered value).
  void parse_args(Expr& node) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) error("*args and **kwargs in calls are not supported");
      if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
        std::string n = cur().text;
        next();
        next();
        node.kwargs.emplace_back(n, parse_expression(true));
      } else {
        if (!node.kwargs.empty()) error("a positional argument follows a keyword argument");
        node.args.push_back(parse_expression(true));
      }
    }
    next();
  }

  ExprPtr parse_call(ExprPtr callee, Expr::Kind kind, const Token& at) {
    ExprPtr c = make(kind, at);
    c->line = callee->line;
    c->col = callee->col;
    c->args.push_back(std::move(callee));
    parse_args(*c);
    return c;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        next();
        e = parse_filter(std::move(e));
      } else if (is_name("is")) {
        e = parse_test(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e), Expr::Kind::Call, cur());
      } else {
        return e;
      }
    }
  }

  std::string dotted_name() {
    std::string n = expect_name();
    while (is_op(".") && peek().type == Tok::Name) {
      next();
      n += "." + cur().text;
      next();
    }
    return n;
  }

  ExprPtr parse_filter(ExprPtr e) {
    const Token& at = cur();
    ExprPtr f = make(Expr::Kind::Filter, at);
    f->name = dotted_name();
    if (!has_filter(f->name)) error_at(at, "no filter named '" + f->name + "'");
    f->line = e->line;
    f->col = e->col;
    f->args.push_back(std::move(e));
    if (is_op("(")) parse_args(*f);
    return f;
  }

  ExprPtr parse_test(ExprPtr e) {
    next();  // is
    ExprPtr t = make(Expr::Kind::Test, cur());
    if (is_name("not")) {
      t->flag = true;
      next();
    }
    const Token& at = cur();
    t->name = dotted_name();
    if (!has_test(t->name)) error_at(at, "no test named '" + t->name + "'");
    t->line = e->line;
    t->col = e->col;
    t->args.push_back(std::move(e));
    if (is_op("(")) {
      parse_args(*t);
    } else if ((cur().type == Tok::Name || cur().type == Tok::String || cur().type == Tok::Int || cur().type == Tok::Float ||
                is_op("(") || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) error("you cannot chain multiple tests with is");
      t->args.push_back(parse_postfix(parse_primary()));
    }
    return t;
  }
};

}  // namespace

Body parse(const std::vector<Token>& tokens) { return Parser(tokens).parse_all(); }

}  // namespace baimo::jinja
