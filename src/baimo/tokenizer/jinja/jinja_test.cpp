// The Jinja interpreter, one language feature per case; expected texts are what jinja2 3.1 renders
// with transformers' settings (checked with python3-jinja2; tests/reference/test_jinja_vs_jinja2.py
// compares whole chat templates).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "baimo/tokenizer/jinja/jinja.h"
#include "baimo/tokenizer/test_shared.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace jinja_test {
using namespace baimo;
using ojson = nlohmann::ordered_json;

std::string R(const std::string& t, const ojson& ctx = ojson::object()) { return render_jinja(t, ctx); }

std::string error_of(const std::string& t, const ojson& ctx = ojson::object()) {
  try {
    render_jinja(t, ctx);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Jinja, TextOutputAndComments) {
  EXPECT_EQ(R("a{{ 'b' }}c{# note #}d"), "abcd");
  EXPECT_EQ(R("{{ x }}", {{"x", 5}}), "5");
  EXPECT_EQ(R("{{ missing }}|"), "|");
}

TEST(Jinja, WhitespaceControlAndTrimBlocks) {
  EXPECT_EQ(R("  {% if true %}\n  x\n  {% endif %}\n  {{ 1 }}\n"), "  x\n  1");
  EXPECT_EQ(R("a  {{- 'b' -}}  c"), "abc");
  EXPECT_EQ(R("a\n{%- if true -%}\n b {%+ endif %}"), "ab ");
  EXPECT_EQ(R("{# c #}\nx"), "x");
  EXPECT_EQ(R("{% raw %}\n  {{ x }}{% endraw %}\nafter"), "\n  {{ x }}after");
  EXPECT_EQ(R("a\r\nb\n"), "a\nb");
}

TEST(Jinja, IfElifElse) {
  const std::string t = "{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %}";
  EXPECT_EQ(R(t, {{"n", 1}}), "one");
  EXPECT_EQ(R(t, {{"n", 2}}), "two");
  EXPECT_EQ(R(t, {{"n", 3}}), "many");
}

TEST(Jinja, ForLoopVariables) {
  EXPECT_EQ(R("{% for x in [1,2,3] %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}"),
            "01TrueFalse3;12FalseFalse3;23FalseTrue3;");
  EXPECT_EQ(R("{% for x in [1,2,3] %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.revindex }}-{{ loop.cycle('a','b') }};{% endfor %}"),
            "-2-3-a;1-3-2-b;2--1-a;");
  EXPECT_EQ(R("{% for a in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(R("{% for a in [1,2,3] if a > 1 %}{{ loop.index }}{{ a }}{{ loop.length }}{% endfor %}"), "122232");
  EXPECT_EQ(R("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}", {{"d", {{"b", 1}, {"a", 2}}}}),
            "b=1;a=2;ba");
  EXPECT_EQ(R("{% for x in [1,2,3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% if x == 3 %}{% break %}{% endif %}{% endfor %}"), "13");
}

TEST(Jinja, ScopesOfSetInLoops) {
  EXPECT_EQ(R("{% set x = 5 %}{% for i in [1,2] %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }}"), "[5][5]5");
  EXPECT_EQ(R("{% for i in [1,2] %}{% if i == 1 %}{% set x = i %}{% endif %}[{{ x }}]{% endfor %}"), "[1][]");
  EXPECT_EQ(R("{% if true %}{% set z = 1 %}{% endif %}{{ z }}"), "1");
  EXPECT_EQ(R("{% set a, b = [1, 2] %}{{ a }}{{ b }}"), "12");
  EXPECT_EQ(R("{% set s %}hello {{ 1 }}{% endset %}[{{ s }}]"), "[hello 1]");
}

TEST(Jinja, NamespaceAttributeAssignment) {
  EXPECT_EQ(R("{% set ns = namespace(a=1, b='x') %}{% for i in [1,2] %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}{{ ns.b }}"), "4x");
  EXPECT_NE(error_of("{% set ns = namespace() %}{% set ns.me = ns %}").find("cannot contain itself"), std::string::npos);
}

TEST(Jinja, Macros) {
  EXPECT_EQ(R("{% macro m(a, b=2) %}{{ a }}{{ b }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1) }}|{{ m(1,3,4,z=5) }}"),
            "12(){}|13(4,){'z': 5}");
  EXPECT_EQ(R("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(3) }}"), "321");
  EXPECT_EQ(R("{% macro m() %}{{ y }}{% endmacro %}{% set y = 1 %}{{ m() }}{% set y = 2 %}{{ m() }}"), "12");
  EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("recursion"), std::string::npos);
}

TEST(Jinja, PythonValuesPrint) {
  EXPECT_EQ(R("{{ [1,'a',none,true,1.5,{'k':'v'}] }}"), "[1, 'a', None, True, 1.5, {'k': 'v'}]");
  EXPECT_EQ(R("{{ (1,2) }} {{ 1e16 }} {{ 1e15 }} {{ 0.00001 }} {{ 1/3 }} {{ 10/2 }} {{ 7//2 }} {{ -7//2 }} {{ -7 % 3 }} {{ 2**10 }} {{ 2**-1 }}"),
            "(1, 2) 1e+16 1000000000000000.0 1e-05 0.3333333333333333 5.0 3 -4 2 1024 0.5");
  EXPECT_EQ(R("{{ ['it\\'s', \"a\\\"b\", 'x\\ny', '\\u00e9'] }}"), "[\"it's\", 'a\"b', 'x\\ny', 'é']");
}

TEST(Jinja, Operators) {
  EXPECT_EQ(R("{{ 'abc' ~ 1 ~ none ~ true }}{{ [1] + [2] }}{{ 'a' + 'b' }}{{ 1 + 1.5 }}{{ true + 1 }}"), "abc1NoneTrue[1, 2]ab2.52");
  EXPECT_EQ(R("{{ 3 == 3.0 }}{{ true == 1 }}{{ 'a' < 'b' }}{{ [1,2] == [1,2] }}"), "TrueTrueTrueTrue");
  EXPECT_EQ(R("{{ 1 in [1,2] }}{{ 'a' in 'bab' }}{{ 'a' not in {'a':1} }}{{ x in [1] }}"), "TrueTrueFalseFalse");
  EXPECT_EQ(R("{{ 1 if true else 2 }}{{ 1 if false else 2 }}{{ 'a' if false }}|"), "12|");
  EXPECT_EQ(R("{{ none or 'x' }}{{ 0 and 1 }}{{ not [] }}"), "x0True");
  EXPECT_EQ(R("{{ 'a' * 3 }}{{ -3|abs }}"), "aaa3");
}

TEST(Jinja, SlicesSubscriptsAttributes) {
  EXPECT_EQ(R("{{ 'abc'[::-1] }} {{ 'abc'[1:] }} {{ [1,2,3][-1] }} {{ [1,2,3][:-1] }} {{ [1,2,3][::2] }}"), "cba bc 3 [1, 2] [1, 3]");
  EXPECT_EQ(R("{{ 'héllo'[1] }}{{ 'héllo'|length }}{{ [1,2,3][5] }}|{{ d.a }}{{ d['a'] }}{{ d.b.c }}|", {{"d", {{"a", 1}, {"b", ojson::object()}}}}),
            "é5|11|");
}

TEST(Jinja, StringAndDictMethods) {
  EXPECT_EQ(R("{{ 'a,b,,c'.split(',') }}{{ ' a b  '.split() }}{{ 'xx'.startswith(('a','x')) }}{{ '  x '.strip() }}|{{ 'axa'.strip('a') }}"),
            "['a', 'b', '', 'c']['a', 'b']Truex|x");
  EXPECT_EQ(R("{{ d.get('a') }}{{ d.get('z') }}{{ d.get('z', 3) }}{{ d.keys()|list }}{{ d.values()|list }}{{ d.items()|list }}",
              {{"d", {{"a", 1}, {"b", {2}}}}}),
            "1None3['a', 'b'][1, [2]][('a', 1), ('b', [2])]");
  EXPECT_EQ(R("{{ 'x.y'.endswith('.y') }}{{ ' q '.lstrip() }}|{{ ' q '.rstrip() }}|"), "Trueq | q|");
}

TEST(Jinja, Filters) {
  EXPECT_EQ(R("{{ [3,1,2]|sort }}{{ ['b','A','a']|sort }}{{ [1,2]|first }}{{ [1,2]|last }}{{ 'ab'|first }}{{ [1,2]|reverse|list }}{{ 'ab'|reverse }}"),
            "[1, 2, 3]['A', 'a', 'b']12a[2, 1]ba");
  EXPECT_EQ(R("{{ x|default('d') }}{{ ''|default('d') }}{{ ''|default('d', true) }}{{ none|default('d') }}"), "ddNone");
  EXPECT_EQ(R("{{ 'hello world'|capitalize }}{{ 'hello world'|title }}{{ 'aXa'|replace('a','b') }}{{ 'Ab'|upper }}{{ 'Ab'|lower }}"),
            "Hello worldHello WorldbXbABab");
  EXPECT_EQ(R("{{ [1,2,3]|join }}{{ [1,2,3]|join('-') }}{{ [{'a':1},{'a':2}]|map(attribute='a')|join }}{{ ['a','b']|map('upper')|list }}"),
            "1231-2-312['A', 'B']");
  EXPECT_EQ(R("{{ [1,2,3]|select('odd')|list }}{{ [1,2,3]|reject('equalto', 2)|list }}{{ [{'a':1},{'b':2}]|selectattr('a', 'defined')|list }}"),
            "[1, 3][1, 3][{'a': 1}]");
  EXPECT_EQ(R("{{ none|string }}{{ 1.0|string }}{{ 2.5|int }}{{ '3'|int }}{{ 'x'|int }}{{ '3.5'|float }}{{ '  t \\n'|trim }}"), "None1.02303.5t");
  EXPECT_EQ(R("{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}{% for k, v in d|dictsort %}{{ k }}{% endfor %}", {{"d", {{"b", 1}, {"a", 2}}}}),
            "b1a2ab");
  EXPECT_EQ(R("{{ [1, 2]|max }}{{ [1,2]|min }}{{ [1,2]|sum }}{{ [1,1,2]|unique|list }}{{ 2.567|round(1) }}{{ 'a b'|wordcount }}"),
            "213[1, 2]2.62");
  EXPECT_EQ(R("{% filter upper %}abc{% endfilter %}{% with q = 2 %}{{ q }}{% endwith %}{{ q }}"), "ABC2");
}

TEST(Jinja, TojsonAsTransformers) {
  EXPECT_EQ(R("{{ {'a': 1, 'b': [1, 'é<'], 'c': none, 'd': 1.5} | tojson }}"), "{\"a\": 1, \"b\": [1, \"é<\"], \"c\": null, \"d\": 1.5}");
  EXPECT_EQ(R("{{ {'a': {'b': []}, 'c': {}} | tojson(indent=2) }}"), "{\n  \"a\": {\n    \"b\": []\n  },\n  \"c\": {}\n}");
  EXPECT_EQ(R("{{ '\\n\"'|tojson }}{{ 'é'|tojson(ensure_ascii=true) }}"), "\"\\n\\\"\"\"\\u00e9\"");
  EXPECT_NE(error_of("{{ x|tojson }}").find("not JSON serializable"), std::string::npos);
}

TEST(Jinja, Tests) {
  EXPECT_EQ(R("{{ none is none }}{{ 1 is not none }}{{ 'a' is string }}{{ {} is mapping }}{{ [] is sequence }}{{ 1 is number }}{{ 1.5 is integer }}"),
            "TrueTrueTrueTrueTrueTrueFalse");
  EXPECT_EQ(R("{{ 'x' is iterable }}{{ 1 is iterable }}{{ true is true }}{{ 1 is true }}{{ 3 is divisibleby 3 }}{{ 3 is odd }}{{ x is defined }}{{ x is undefined }}"),
            "TrueFalseTrueFalseTrueTrueFalseTrue");
}

TEST(Jinja, UndefinedSemantics) {
  EXPECT_EQ(R("{{ x ~ 1 }}{{ x|length }}{{ x|trim }}{{ x is iterable }}{% for a in x %}no{% endfor %}{{ x == x }}"), "10TrueTrue");
  EXPECT_NE(error_of("{{ x.y }}").find("'x' is undefined"), std::string::npos);
  EXPECT_NE(error_of("{{ x + 1 }}").find("'x' is undefined"), std::string::npos);
  EXPECT_NE(error_of("{{ a.b.c.d }}", {{"a", {{"b", ojson::object()}}}}).find("has no attribute 'c'"), std::string::npos);
}

TEST(Jinja, RaiseExceptionAndStrftime) {
  EXPECT_NE(error_of("line\n{{ raise_exception('boom') }}").find("template line 2, column 4: raise_exception: boom"), std::string::npos);
  EXPECT_EQ(R("{{ strftime_now('%Y')|length }}"), "4");
}

TEST(Jinja, SyntaxErrorsNameLineAndColumn) {
  EXPECT_NE(error_of("{% for x in [1] %}{{ x }}").find("looking for 'endfor' or 'else'"), std::string::npos);
  EXPECT_NE(error_of("ab\n  {{ 1 | nosuchfilter }}").find("template line 2, column 10: no filter named 'nosuchfilter'"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 is nosuchtest }}").find("no test named 'nosuchtest'"), std::string::npos);
  EXPECT_NE(error_of("{{ 'a' }").find("unexpected '}'"), std::string::npos);
  EXPECT_NE(error_of("x\n{{ 1 + }}").find("template line 2, column 8: expected an expression"), std::string::npos);
  EXPECT_NE(error_of("{% for x in y %}{% endif %}").find("unknown tag 'endif'"), std::string::npos);
  EXPECT_NE(error_of("{{ 'abc").find("unterminated string"), std::string::npos);
  EXPECT_NE(error_of("{# open").find("missing end of comment"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 ").find("not closed"), std::string::npos);
  EXPECT_NE(error_of("{% include 'x' %}").find("unknown tag 'include'"), std::string::npos);
  // Built with append (GCC 12 warns falsely, -Warray-bounds, on "literal" + std::string here).
  auto nested = [](char open, const char* mid, char close) {
    std::string t = "{{";
    t.append(500, open).append(mid).append(500, close).append("}}");
    return t;
  };
  EXPECT_NE(error_of(nested('(', "1", ')')).find("nested too deeply"), std::string::npos);
  EXPECT_NE(error_of(nested('[', "", ']')).find("nested too deeply"), std::string::npos);
}

TEST(Jinja, RuntimeErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("\n\n  {{ 1 < 'a' }}"), "template line 3, column 6: '<' not supported between instances of 'int' and 'str'");
  EXPECT_NE(error_of("{{ 1 // 0 }}").find("division or modulo by zero"), std::string::npos);
  EXPECT_NE(error_of("{{ 9223372036854775807 + 1 }}").find("overflow"), std::string::npos);
  EXPECT_NE(error_of("{{ range(10000000)|length }}").find("too long"), std::string::npos);
  EXPECT_NE(error_of("{{ [].append(1) }}").find("unsafe"), std::string::npos);
}

TEST(Jinja, ChatContextAsApplyChatTemplate) {
  const std::string t = "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
                        "{% if tools is none %}[no tools]{% endif %}{% if add_generation_prompt %}<assistant>{% endif %}{{ eos_token }}{{ date_string }}";
  ojson msgs = ojson::array({{{"role", "user"}, {"content", "你好"}}});
  EXPECT_EQ(render_chat_jinja(t, msgs, nullptr, true, "<s>", "", {{"date_string", "today"}}), "<s><user>你好[no tools]<assistant>today");
  EXPECT_EQ(render_chat_jinja(t, msgs, ojson::array(), false, "", "</s>"), "<user>你好</s>");
}

TEST(Jinja, PublishedQwenTemplateRendersToolCalls) {
  const std::string t = read_file(test_data::vectors_dir() + "/templates/Qwen-Qwen2.5-7B-Instruct.jinja");
  ojson msgs = ojson::parse(R"([{"role":"user","content":"hi"},
    {"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":{"x":1}}}]},
    {"role":"tool","content":"42"}])");
  EXPECT_EQ(render_chat_jinja(t, msgs, nullptr, true, "", ""),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 1}}\n</tool_call><|im_end|>\n"
            "<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
}

}  // namespace jinja_test
