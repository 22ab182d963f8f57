// The parsed form of a Jinja template: expressions and statements, each with the line and column
// where it starts (for runtime errors).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "baimo/tokenizer/jinja/value.h"

namespace baimo::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,    // value
    Name,       // name
    List,       // args (tuple when flag)
    Dict,       // args: key, value, key, value, ...
    Attr,       // args[0].name
    Item,       // args[0][args[1]]
    Slice,      // args[0][args[1]:args[2]:args[3]] (null parts absent)
    Call,       // args[0](args[1..], kwargs)
    Filter,     // args[0] | name(args[1..], kwargs)
    Test,       // args[0] is [not: flag] name(args[1..], kwargs)
    Unary,      // name in {"-", "+", "not"} args[0]
    Binary,     // args[0] name args[1]: + - * / // % ** ~ and or == != < <= > >= in notin
    Cond,       // args[1] if args[0] else args[2] (args[2] may be null)
  };
  Kind kind;
  int line = 0, col = 0;
  Value value;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  bool flag = false;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// An assignment target: names (a tuple when more than one), or one namespace attribute ns.attr.
struct Target {
  std::vector<std::string> names;
  std::string attr;  // set: names[0].attr
  bool tuple = false;
};

struct Stmt {
  enum class Kind {
    Text,       // text
    Output,     // {{ expr }}
    If,         // branches (cond null for else)
    For,        // for target in expr [if cond]: body [else: else_body]
    Set,        // set target = expr
    SetBlock,   // set target [| filters]: body (expr: the filter chain applied to a Literal placeholder)
    Macro,      // macro name(params): body
    FilterBlock,// filter name(args): body (expr applied to the body's text)
    With,       // with assignments: body
    Break,
    Continue,
    Block,      // a body rendered as is ({% generation %} of transformers)
  };
  Kind kind;
  int line = 0, col = 0;
  std::string text;
  ExprPtr expr, cond;
  Target target;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body, else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // macro parameters with defaults; with: assignments
};

}  // namespace baimo::jinja
