// Grammar parser and recognizer: syntax, errors with line:column, repetition, UTF-8 bytes.
#include "baimo/infer/constrained/grammar.h"

#include <gtest/gtest.h>

#include "baimo/infer/constrained/recognizer.h"
#include "baimo/util/error.h"

namespace baimo::constrained {
namespace grammar_test {

bool accepts(const std::string& g, const std::string& text) { return grammar_accepts(parse_grammar(g), text); }

std::string error_of(const std::string& g) {
  try {
    parse_grammar(g, "g.gbnf");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Grammar, LiteralsClassesAlternationGroups) {
  const std::string g = R"(
    # a comment
    root ::= greeting " " name ("!" | "?")
    greeting ::= "hi" | "hello"
    name ::= [A-Z] [a-z]*
  )";
  EXPECT_TRUE(accepts(g, "hi Bob!"));
  EXPECT_TRUE(accepts(g, "hello X?"));
  EXPECT_FALSE(accepts(g, "hello bob!"));
  EXPECT_FALSE(accepts(g, "hi Bob"));
  EXPECT_FALSE(accepts(g, "hey Bob!"));
}

TEST(Grammar, RepetitionOperators) {
  EXPECT_TRUE(accepts("root ::= \"a\"+ \"b\"?", "aaa"));
  EXPECT_TRUE(accepts("root ::= \"a\"+ \"b\"?", "ab"));
  EXPECT_FALSE(accepts("root ::= \"a\"+ \"b\"?", "b"));
  const std::string g = "root ::= [0-9]{2,4}";
  EXPECT_FALSE(accepts(g, "1"));
  EXPECT_TRUE(accepts(g, "12"));
  EXPECT_TRUE(accepts(g, "1234"));
  EXPECT_FALSE(accepts(g, "12345"));
  EXPECT_TRUE(accepts("root ::= \"ab\"{3}", "ababab"));
  EXPECT_FALSE(accepts("root ::= \"ab\"{3}", "abab"));
  EXPECT_TRUE(accepts("root ::= \"x\"{2,} ", "xxxxx"));
  EXPECT_FALSE(accepts("root ::= \"x\"{2,} ", "x"));
  EXPECT_TRUE(accepts("root ::= (\"a\" | \"b\")* \"c\"", "abbac"));
}

TEST(Grammar, NegatedClassAndUtf8) {
  const std::string g = R"(root ::= "\"" [^"\\]* "\"")";
  EXPECT_TRUE(accepts(g, "\"中文 ok\""));
  EXPECT_FALSE(accepts(g, "\"a\"b\""));
  EXPECT_TRUE(accepts("root ::= [一-龥]+", "你好"));
  EXPECT_FALSE(accepts("root ::= [一-龥]+", "ab"));
  EXPECT_TRUE(accepts("root ::= \"\\u4F60\" .", "你!"));
  // Bytes of an incomplete character keep the state alive only if some code point can follow.
  Grammar gr = parse_grammar("root ::= [一-龥]");
  RecognizerState s = start_state(gr), t;
  EXPECT_TRUE(step_byte(gr, s, 0xE4, t));   // 你 = E4 BD A0
  EXPECT_FALSE(step_byte(gr, s, 0xC3, t));  // a 2-byte character is below U+4E00
  EXPECT_FALSE(step_byte(gr, s, 0x80, t));  // a continuation byte cannot start
}

TEST(Grammar, AcceptingAndContinuation) {
  Grammar g = parse_grammar("root ::= \"a\" \"b\"?");
  RecognizerState s = start_state(g);
  EXPECT_FALSE(accepting(s));
  ASSERT_TRUE(step_bytes(g, s, "a"));
  EXPECT_TRUE(accepting(s));
  EXPECT_TRUE(can_continue(s));
  ASSERT_TRUE(step_bytes(g, s, "b"));
  EXPECT_TRUE(accepting(s));
  EXPECT_FALSE(can_continue(s));
  EXPECT_FALSE(step_bytes(g, s, "b"));
}

TEST(Grammar, ErrorsNameLineAndColumn) {
  EXPECT_NE(error_of("root ::= foo\n").find("g.gbnf:1:10: undefined rule 'foo'"), std::string::npos) << error_of("root ::= foo\n");
  EXPECT_NE(error_of("root ::= \"a\"\nx ::= [a-z\n").find("g.gbnf:2:7: unterminated"), std::string::npos)
      << error_of("root ::= \"a\"\nx ::= [a-z\n");
  EXPECT_NE(error_of("a ::= \"x\"").find("no 'root' rule"), std::string::npos);
  EXPECT_NE(error_of("root ::= root \"a\" | \"b\"").find("left recursion"), std::string::npos);
  EXPECT_NE(error_of("root ::= x \"a\"\nx ::= \"\" | y\ny ::= root").find("left recursion"), std::string::npos);
  EXPECT_NE(error_of("root ::= \"a\"{3,2}").find("m > n"), std::string::npos);
  EXPECT_NE(error_of("root ::= * \"a\"").find("g.gbnf:1:10: '*' has nothing to repeat"), std::string::npos)
      << error_of("root ::= * \"a\"");
  EXPECT_NE(error_of("root ::= (\"a\"").find("missing ')'"), std::string::npos);
  EXPECT_NE(error_of("root ::= \"a\"\nroot ::= \"b\"").find("g.gbnf:2:1: rule 'root' is defined twice"), std::string::npos);
  // Right recursion is fine.
  EXPECT_TRUE(accepts("root ::= \"a\" root | \"b\"", "aaab"));
}

TEST(Grammar, MultiLineRulesAndDeepRepetitionStayFlat) {
  const std::string g = "root ::= item\n  | \"[\" item (\",\" item)* \"]\"\nitem ::= [0-9]";
  EXPECT_TRUE(accepts(g, "[1,2,3]"));
  EXPECT_TRUE(accepts(g, "7"));
  Grammar gr = parse_grammar("root ::= \"a\"*");
  RecognizerState s = start_state(gr);
  const size_t size0 = s.flat.size();
  ASSERT_TRUE(step_bytes(gr, s, std::string(1000, 'a')));
  EXPECT_EQ(s.flat.size(), size0);  // x* is right recursive: no stack growth
}

}  // namespace grammar_test

}  // namespace baimo::constrained
