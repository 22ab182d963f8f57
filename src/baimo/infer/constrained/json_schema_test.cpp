// JSON-schema compiler: fixed cases, unsupported keywords, and a fuzzed comparison against a
// reference validator written here with nlohmann::ordered_json and std::regex (ECMAScript search):
// random schemas (types, type arrays, objects with required / optional properties, arrays with
// min/max items, strings with lengths or patterns, enum, const, anyOf, oneOf, $ref) and, per
// schema, random candidate texts (valid ones generated from the schema with random spacing,
// random JSON values, single-character mutations of both). The recognizer must accept exactly the
// candidates the reference accepts. The reference encodes the compiler's documented text form:
// no whitespace around the top value, whitespace runs of " " or a newline and up to 20 spaces / tabs,
// object keys in the schema's property order, no other keys.
#include "baimo/infer/constrained/json_schema.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "baimo/infer/constrained/grammar.h"
#include "baimo/infer/constrained/recognizer.h"

namespace baimo::constrained {
namespace json_schema_test {

using ojson = nlohmann::ordered_json;

bool schema_accepts(const std::string& schema, const std::string& text) {
  return grammar_accepts(parse_grammar(json_schema_to_gbnf(schema), "json_schema"), text);
}

TEST(JsonSchema, ObjectWithRequiredAndOptional) {
  const std::string s = R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
    "tags":{"type":"array","items":{"type":"string"},"maxItems":2}},"required":["name"],"additionalProperties":false})";
  EXPECT_TRUE(schema_accepts(s, R"({"name":"Ann"})"));
  EXPECT_TRUE(schema_accepts(s, R"({"name": "Ann", "age": 30})"));
  EXPECT_TRUE(schema_accepts(s, R"({"name":"Ann","tags":["a","b"]})"));
  EXPECT_TRUE(schema_accepts(s, "{\n  \"name\": \"张三\",\n  \"age\": -3\n}"));
  EXPECT_FALSE(schema_accepts(s, R"({"age":30})"));
  EXPECT_FALSE(schema_accepts(s, R"({"name":"Ann","tags":["a","b","c"]})"));
  EXPECT_FALSE(schema_accepts(s, R"({"name":"Ann","age":3.5})"));
  EXPECT_FALSE(schema_accepts(s, R"({"name":"Ann","x":1})"));
  EXPECT_FALSE(schema_accepts(s, R"({"name":"Ann",})"));
  EXPECT_FALSE(schema_accepts(s, "{" + std::string(30, ' ') + "\"name\":\"a\"}"));  // bounded spaces
}

TEST(JsonSchema, EnumConstRefPatternJsonObject) {
  const std::string s = R"({"$defs":{"color":{"enum":["red","green",1,null]}},"type":"object",
    "properties":{"c":{"$ref":"#/$defs/color"},"k":{"const":"v"},"id":{"type":"string","pattern":"^[a-f0-9]{4}-x$"}},
    "required":["c","k","id"]})";
  EXPECT_TRUE(schema_accepts(s, R"({"c":"red","k":"v","id":"ab12-x"})"));
  EXPECT_TRUE(schema_accepts(s, R"({"c":null,"k":"v","id":"0000-x"})"));
  EXPECT_FALSE(schema_accepts(s, R"({"c":"blue","k":"v","id":"ab12-x"})"));
  EXPECT_FALSE(schema_accepts(s, R"({"c":1,"k":"w","id":"ab12-x"})"));
  EXPECT_FALSE(schema_accepts(s, R"({"c":1,"k":"v","id":"ab1-x"})"));
  const std::string any = R"({"type":"json_object"})";
  EXPECT_TRUE(schema_accepts(any, R"({"a":[1,{"b":null}],"c":"d"})"));
  EXPECT_FALSE(schema_accepts(any, R"([1])"));
  // Recursive $ref.
  const std::string tree = R"({"$defs":{"n":{"type":"object","properties":{"v":{"type":"integer"},
    "kids":{"type":"array","items":{"$ref":"#/$defs/n"}}},"required":["v"]}},"$ref":"#/$defs/n"})";
  EXPECT_TRUE(schema_accepts(tree, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[]}]})"));
  EXPECT_FALSE(schema_accepts(tree, R"({"v":1,"kids":[{"w":2}]})"));
}

TEST(JsonSchema, UnsupportedKeywordsAreListed) {
  try {
    json_schema_to_gbnf(R"({"type":"object","properties":{"age":{"type":"integer","minimum":0},
      "email":{"type":"string","format":"email"}},"allOf":[]})");
    FAIL() << "no error";
  } catch (const UnsupportedSchema& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("allOf at /"), std::string::npos) << m;
    EXPECT_NE(m.find("minimum at /properties/age"), std::string::npos) << m;
    EXPECT_NE(m.find("format at /properties/email"), std::string::npos) << m;
    EXPECT_EQ(e.keywords.size(), 3u);
  }
  EXPECT_THROW(json_schema_to_gbnf(R"({"$ref":"#/$defs/missing"})"), Error);
  EXPECT_THROW(json_schema_to_gbnf(R"({"type":"strin"})"), Error);
  EXPECT_THROW(json_schema_to_gbnf(R"x({"type":"string","pattern":"(?=a)"})x"), Error);
  EXPECT_THROW(json_schema_to_gbnf("{"), Error);
}

// ---- the reference validator -------------------------------------------------------------------

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

const ojson& resolve(const ojson& root, const ojson& s) {
  if (!s.contains("$ref")) return s;
  std::string r = s["$ref"].get<std::string>();
  return root["$defs"][r.substr(std::string("#/$defs/").size())];
}

bool valid(const ojson& root, const ojson& s0, const ojson& v) {
  const ojson& s = resolve(root, s0);
  if (s.contains("const")) return v == s["const"];
  if (s.contains("enum")) {
    for (const auto& e : s["enum"])
      if (v == e) return true;
    return false;
  }
  if (s.contains("anyOf")) {
    for (const auto& a : s["anyOf"])
      if (valid(root, a, v)) return true;
    return false;
  }
  if (s.contains("oneOf")) {
    int n = 0;
    for (const auto& a : s["oneOf"]) n += valid(root, a, v);
    return n == 1;
  }
  std::vector<std::string> types;
  if (s["type"].is_string()) types.push_back(s["type"].get<std::string>());
  else
    for (const auto& t : s["type"]) types.push_back(t.get<std::string>());
  for (const auto& t : types) {
    if (t == "null" && v.is_null()) return true;
    if (t == "boolean" && v.is_boolean()) return true;
    if (t == "integer" && (v.is_number_integer())) return true;
    if (t == "number" && v.is_number()) return true;
    if (t == "string" && v.is_string()) {
      const std::string str = v.get<std::string>();
      if (s.contains("minLength") && code_points(str) < s["minLength"].get<size_t>()) continue;
      if (s.contains("maxLength") && code_points(str) > s["maxLength"].get<size_t>()) continue;
      if (s.contains("pattern") && !std::regex_search(str, std::regex(s["pattern"].get<std::string>()))) continue;
      return true;
    }
    if (t == "array" && v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) continue;
      if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) continue;
      bool ok = true;
      for (const auto& x : v) ok = ok && valid(root, s["items"], x);
      if (ok) return true;
    }
    if (t == "object" && v.is_object()) {
      const ojson& props = s["properties"];
      size_t next = 0;  // keys in property order, no others
      bool ok = true;
      std::vector<std::string> order;
      for (auto it = props.begin(); it != props.end(); ++it) order.push_back(it.key());
      for (auto it = v.begin(); it != v.end() && ok; ++it) {
        while (next < order.size() && order[next] != it.key()) ++next;
        ok = next < order.size() && valid(root, props[it.key()], it.value());
        ++next;
      }
      if (s.contains("required"))
        for (const auto& r : s["required"]) ok = ok && v.contains(r.get<std::string>());
      if (ok) return true;
    }
  }
  return false;
}

// The compiler's whitespace form outside strings: a run is " " or "\n" and up to 20 spaces / tabs.
bool spacing_ok(const std::string& t) {
  bool in_str = false;
  for (size_t i = 0; i < t.size();) {
    const char c = t[i];
    if (in_str) {
      i += c == '\\' ? 2 : 1;
      if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < t.size() && (t[j] == ' ' || t[j] == '\t' || t[j] == '\n' || t[j] == '\r')) ++j;
    const std::string run = t.substr(i, j - i);
    bool ok = run == " " || (run[0] == '\n' && run.size() <= 21 && run.find_first_of("\n\r", 1) == std::string::npos);
    if (!ok) return false;
    i = j;
  }
  return true;
}

bool reference_accepts(const ojson& schema, const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front())) || std::isspace(static_cast<unsigned char>(text.back())))
    return false;
  if (!spacing_ok(text)) return false;
  ojson v;
  try {
    v = ojson::parse(text);
  } catch (const std::exception&) {
    return false;
  }
  return valid(schema, schema, v);
}

// ---- random schemas and candidates ---------------------------------------------------------------

struct Fuzz {
  std::mt19937 rng;
  explicit Fuzz(uint32_t seed) : rng(seed) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }

  ojson schema(int depth) {
    static const char* patterns[] = {"^[a-c]+$", "^a(b|c)*d?$", "[0-9]{2,3}", "^x.y$", "ab", "^(foo|ba[rz])$", "^\\d+\\.\\d$"};
    const int k = depth > 2 ? pick(7) : pick(12);
    switch (k) {
      case 0: return {{"type", "null"}};
      case 1: return {{"type", "boolean"}};
      case 2: return {{"type", "integer"}};
      case 3: return {{"type", "number"}};
      case 4: {
        ojson s = {{"type", "string"}};
        if (pick(2)) s["minLength"] = pick(3);
        if (pick(2)) s["maxLength"] = 2 + pick(3);
        return s;
      }
      case 5: return {{"type", "string"}, {"pattern", patterns[pick(7)]}};
      case 6: return pick(2) ? ojson{{"enum", {"ab", "c", 7, nullptr, true}}} : ojson{{"const", pick(2) ? ojson("x") : ojson(3)}};
      case 7: {
        ojson s = {{"type", "array"}, {"items", schema(depth + 1)}};
        if (pick(2)) s["minItems"] = pick(2);
        if (pick(2)) s["maxItems"] = 1 + pick(3);
        return s;
      }
      case 8: case 9: {
        ojson s = {{"type", "object"}, {"properties", ojson::object()}};
        const int n = 1 + pick(3);
        ojson req = ojson::array();
        for (int i = 0; i < n; ++i) {
          std::string name = std::string(1, static_cast<char>('a' + i)) + (pick(2) ? "k" : "");
          s["properties"][name] = schema(depth + 1);
          if (pick(2)) req.push_back(name);
        }
        if (!req.empty()) s["required"] = req;
        if (pick(2)) s["additionalProperties"] = false;
        return s;
      }
      case 10: return pick(2) ? ojson{{"anyOf", {schema(depth + 1), schema(depth + 1)}}}
                              : ojson{{"oneOf", {{{"type", "string"}, {"maxLength", 2}}, {{"type", "integer"}}}}};
      default: return {{"type", {"string", "null"}}, {"maxLength", 3}};
    }
  }

  std::string ws() {
    static const char* w[] = {"", "", "", " ", "\n  "};
    return w[pick(5)];
  }

  std::string str() {
    static const char* parts[] = {"a", "b", "c", "d", "x", "y", "foo", "bar", "0", "12", ".", "é", "\\n", "中"};
    std::string s;
    for (int n = pick(5); n-- > 0;) s += parts[pick(14)];
    return "\"" + s + "\"";
  }

  std::string number(bool integer) {
    std::string s = std::to_string(pick(201) - 100);
    if (!integer && pick(2)) s += "." + std::to_string(pick(100));
    if (!integer && !pick(4)) s += "e" + std::to_string(pick(5));
    return s;
  }

  std::string random_value(int depth) {
    switch (depth > 2 ? pick(5) : pick(7)) {
      case 0: return "null";
      case 1: return pick(2) ? "true" : "false";
      case 2: return number(pick(2));
      case 3: case 4: return str();
      case 5: {
        std::string s = "[" + ws();
        for (int n = pick(3), i = 0; i < n; ++i) s += (i ? "," + ws() : "") + random_value(depth + 1) + ws();
        return s + "]";
      }
      default: {
        std::string s = "{" + ws();
        for (int n = pick(3), i = 0; i < n; ++i)
          s += (i ? "," + ws() : "") + "\"" + std::string(1, static_cast<char>('a' + pick(3))) + "\"" + ws() + ":" + ws() +
               random_value(depth + 1) + ws();
        return s + "}";
      }
    }
  }

  // A value that tries to follow the schema (may still miss, e.g. a string against a pattern).
  std::string value(const ojson& root, const ojson& s0, int depth) {
    const ojson& s = resolve(root, s0);
    if (s.contains("const")) return s["const"].dump();
    if (s.contains("enum")) return s["enum"][static_cast<size_t>(pick(static_cast<int>(s["enum"].size())))].dump();
    if (s.contains("anyOf")) return value(root, s["anyOf"][static_cast<size_t>(pick(2))], depth);
    if (s.contains("oneOf")) return value(root, s["oneOf"][static_cast<size_t>(pick(2))], depth);
    std::string t = s["type"].is_string() ? s["type"].get<std::string>() : s["type"][static_cast<size_t>(pick(2))].get<std::string>();
    if (t == "null") return "null";
    if (t == "boolean") return pick(2) ? "true" : "false";
    if (t == "integer") return number(true);
    if (t == "number") return number(false);
    if (t == "string") {
      if (s.contains("pattern")) {
        static const char* hits[] = {"abc", "abcd", "x9y", "foo", "baz", "12.5", "zz123", "cab"};
        return "\"" + std::string(hits[pick(8)]) + "\"";
      }
      return str();
    }
    if (t == "array") {
      std::string out = "[" + ws();
      for (int n = pick(4), i = 0; i < n; ++i) out += (i ? "," + ws() : "") + value(root, s["items"], depth + 1) + ws();
      return out + "]";
    }
    std::string out = "{" + ws();
    bool first = true;
    const ojson& props = s["properties"];
    for (auto it = props.begin(); it != props.end(); ++it) {
      if (pick(4) == 0) continue;
      out += (first ? "" : "," + ws()) + ojson(it.key()).dump() + ws() + ":" + ws() + value(root, it.value(), depth + 1) + ws();
      first = false;
    }
    return out + "}";
  }

  std::string mutate(std::string s) {
    static const std::string alphabet = "{}[],:\"0123456789.-e abtrufnlx\\";
    if (s.empty()) return s;
    const size_t at = static_cast<size_t>(pick(static_cast<int>(s.size())));
    switch (pick(3)) {
      case 0: s.erase(at, 1); break;
      case 1: s.insert(at, 1, alphabet[static_cast<size_t>(pick(static_cast<int>(alphabet.size())))]); break;
      default: s[at] = alphabet[static_cast<size_t>(pick(static_cast<int>(alphabet.size())))]; break;
    }
    return s;
  }
};

TEST(JsonSchema, FuzzedSchemasAcceptExactlyTheValidTexts) {
  Fuzz f(17);
  int valid_count = 0, total = 0;
  for (int round = 0; round < 60; ++round) {
    ojson schema = f.schema(0);
    if (round % 5 == 4) {  // through $defs / $ref
      ojson inner = schema;
      schema = {{"$defs", {{"d", inner}}}, {"$ref", "#/$defs/d"}};
    }
    const std::string text = schema.dump();
    Grammar g = parse_grammar(json_schema_to_gbnf(text), "json_schema");
    for (int c = 0; c < 40; ++c) {
      std::string cand = c < 15 ? f.value(schema, schema, 0) : c < 22 ? f.random_value(0) : f.mutate(f.value(schema, schema, 0));
      const bool want = reference_accepts(schema, cand);
      ASSERT_EQ(grammar_accepts(g, cand), want) << "schema " << text << "\ncandidate " << cand << "\ngrammar\n"
                                                << json_schema_to_gbnf(text);
      valid_count += want;
      ++total;
    }
  }
  // Both kinds are well represented.
  EXPECT_GT(valid_count, total / 5);
  EXPECT_LT(valid_count, total * 4 / 5);
}

}  // namespace json_schema_test

}  // namespace baimo::constrained
