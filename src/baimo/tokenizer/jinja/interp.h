// The tree-walking evaluator of parsed templates (ast.h): scopes as jinja2 has them (the template
// top level; a fresh scope per for-loop iteration, per macro call and per with block; `if` opens
// none), macros as callables that see the scope they were defined in, and the globals range,
// namespace, dict, raise_exception and strftime_now.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>

#include "baimo/tokenizer/jinja/ast.h"

namespace baimo::jinja {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
};

// Runs `body` with the variables of `root`; returns the text.
std::string run_template(const Body& body, std::shared_ptr<Scope> root);

}  // namespace baimo::jinja
