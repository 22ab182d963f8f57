// Jinja lexer with Hugging Face's settings: trim_blocks (the first newline after a block or comment
// tag is dropped), lstrip_blocks (spaces and tabs before a block or comment tag on its own line are
// dropped), keep_trailing_newline = false (one final "\n" of the template is dropped), "\r\n" and
// "\r" become "\n", whitespace control ({%- -%} {{- -}} {#- -#}, and "+" to keep), {% raw %},
// and jinja2's rule that an end tag inside open brackets is two operators ({{ {'a': {}} }}).
// Comments produce no tokens. Errors name the line and column (1-based).
#pragma once
#include <string>
#include <vector>

namespace baimo::jinja {

enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  Tok type;
  std::string text;  // Data: the text; String: the unescaped value; Name/Int/Float/Op: as written
  int line = 1, col = 1;
};

std::vector<Token> lex(const std::string& source);

// "template line L, column C: what" (a baimo::Error)
[[noreturn]] void syntax_error(int line, int col, const std::string& what);

}  // namespace baimo::jinja
