// Jinja parser: tokens (lexer.h) -> statements (ast.h), following jinja2's grammar and operator
// precedence (condexpr < or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary - + <
// primary with postfix . [] () and then | filters and `is` tests). Unknown filters and tests are
// errors at parse time, as jinja2 raises them when it compiles. Tags: if/elif/else, for (tuple
// targets, inline `if`, else), set (= and block form, ns.attr), macro, filter, with, break,
// continue, generation (transformers' assistant-mask block, rendered as its body).
// Errors: baimo::Error "template line L, column C: ...".
#pragma once
#include <string>
#include <vector>

#include "baimo/tokenizer/jinja/ast.h"
#include "baimo/tokenizer/jinja/lexer.h"

namespace baimo::jinja {

// The name a filter block's and a block set's text is bound to while its filters run.
inline constexpr const char* kBlockTextName = " block text";

Body parse(const std::vector<Token>& tokens);

}  // namespace baimo::jinja
