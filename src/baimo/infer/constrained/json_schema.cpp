#include "baimo/infer/constrained/json_schema.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "baimo/infer/constrained/grammar.h"
#include "baimo/infer/constrained/regex_to_gbnf.h"

namespace baimo::constrained {
namespace {

using ojson = nlohmann::ordered_json;

std::string primitives() {
  return fmt::format(
      "ws ::= (\" \" | \"\\n\" [ \\t]{{0,{}}})?\n"
      "jchar ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{{4}})\n"
      "jstring ::= \"\\\"\" jchar* \"\\\"\"\n"
      "jinteger ::= \"-\"? (\"0\" | [1-9] [0-9]{{0,15}})\n"
      "jnumber ::= jinteger (\".\" [0-9]{{1,16}})? ([eE] [-+]? [0-9]{{1,3}})?\n"
      "jbool ::= \"true\" | \"false\"\n"
      "jnull ::= \"null\"\n"
      "jvalue ::= jobject | jarray | jstring | jnumber | jbool | jnull\n"
      "jobject ::= \"{{\" ws (jstring ws \":\" ws jvalue ws (\",\" ws jstring ws \":\" ws jvalue ws)*)? \"}}\"\n"
      "jarray ::= \"[\" ws (jvalue ws (\",\" ws jvalue ws)*)? \"]\"\n",
      kMaxJsonSpaces);
}

const std::set<std::string, std::less<>>& annotations() {
  static const std::set<std::string, std::less<>> s = {"title", "description", "$schema", "$id", "$comment", "default",
                                                       "examples", "deprecated", "readOnly", "writeOnly", "strict"};
  return s;
}

class Compiler {
 public:
  // prefix: of the generated rules' names, so that several schemas share one grammar.
  explicit Compiler(const ojson& root, std::string prefix = "s") : root_(root), prefix_(std::move(prefix)) {}

  std::string run() {
    std::string out = "root ::= " + compile() + "\n" + primitives();
    return out + rules();  // (out first: compile() adds the rules)
  }
  // The top value's expression; its rules are rules(). Unsupported keywords throw UnsupportedSchema.
  std::string compile() {
    std::string top = visit(root_, "", true);
    if (!unsupported_.empty()) {
      std::string msg = "unsupported JSON Schema keywords:";
      std::vector<std::string> kws;
      for (size_t i = 0; i < unsupported_.size(); ++i) {
        msg += (i ? ", " : " ") + unsupported_[i].first + " at " + (unsupported_[i].second.empty() ? "/" : unsupported_[i].second);
        kws.push_back(unsupported_[i].first);
      }
      throw UnsupportedSchema(msg, std::move(kws));
    }
    return top;
  }
  std::string rules() const {
    std::string out;
    for (const auto& r : rules_) out += r + "\n";
    return out;
  }

 private:
  [[noreturn]] void bad(const std::string& path, const std::string& what) const {
    fail("JSON schema at {}: {}", path.empty() ? "/" : path, what);
  }

  std::string new_rule(const std::string& body) {
    std::string name = prefix_ + std::to_string(++counter_);
    rules_.push_back(name + " ::= " + body);
    return name;
  }

  void check_keys(const ojson& s, const std::string& path, std::initializer_list<const char*> allowed) {
    for (auto it = s.begin(); it != s.end(); ++it) {
      const std::string& k = it.key();
      if (annotations().count(k) || k == "$defs" || k == "definitions") continue;
      bool ok = false;
      for (const char* a : allowed) ok = ok || k == a;
      if (!ok) unsupported_.emplace_back(k, path);
    }
  }

  int64_t count(const ojson& s, const char* key, const std::string& path, int64_t dflt) {
    if (!s.contains(key)) return dflt;
    const ojson& v = s[key];
    if (!v.is_number_integer() && !v.is_number_unsigned()) bad(path + "/" + key, "expected a non-negative integer");
    int64_t n = v.get<int64_t>();
    if (n < 0) bad(path + "/" + key, "expected a non-negative integer");
    if (n > kMaxRepeat) bad(path + "/" + key, fmt::format("at most {} is supported", kMaxRepeat));
    return n;
  }

  std::string visit(const ojson& s, const std::string& path, bool top = false) {
    if (s.is_boolean()) {
      if (s.get<bool>()) return "jvalue";
      bad(path, "the schema 'false' accepts nothing");
    }
    if (!s.is_object()) bad(path, "a schema must be an object or a boolean");
    if (s.contains("$ref")) {
      check_keys(s, path, {"$ref"});
      return ref(s["$ref"], path);
    }
    if (s.contains("const")) {
      check_keys(s, path, {"const", "type"});
      return gbnf_literal(s["const"].dump());
    }
    if (s.contains("enum")) {
      check_keys(s, path, {"enum", "type"});
      const ojson& e = s["enum"];
      if (!e.is_array() || e.empty()) bad(path + "/enum", "expected a non-empty array");
      std::string out;
      for (const auto& v : e) out += (out.empty() ? "" : " | ") + gbnf_literal(v.dump());
      return "(" + out + ")";
    }
    for (const char* comb : {"anyOf", "oneOf"})
      if (s.contains(comb)) {
        check_keys(s, path, {"anyOf", "oneOf"});
        if (s.contains("anyOf") && s.contains("oneOf")) unsupported_.emplace_back("oneOf beside anyOf", path);
        const ojson& a = s[comb];
        if (!a.is_array() || a.empty()) bad(path + "/" + comb, "expected a non-empty array of schemas");
        std::string out;
        for (size_t i = 0; i < a.size(); ++i)
          out += (i ? " | " : "") + visit(a[i], path + "/" + comb + "/" + std::to_string(i));
        return "(" + out + ")";
      }
    if (top && s.is_object() && s.size() == 0) return "jobject";
    if (!s.contains("type")) {
      if (s.contains("properties") || s.contains("additionalProperties") || s.contains("required"))
        return typed(s, "object", path);
      if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) return typed(s, "array", path);
      if (s.contains("minLength") || s.contains("maxLength") || s.contains("pattern")) return typed(s, "string", path);
      check_keys(s, path, {});
      return "jvalue";
    }
    const ojson& t = s["type"];
    if (t.is_string()) return typed(s, t.get<std::string>(), path);
    if (!t.is_array() || t.empty()) bad(path + "/type", "expected a type name or a non-empty array of them");
    check_keys(s, path, {"type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
                         "minLength", "maxLength", "pattern"});
    std::string out;
    for (const auto& one : t) {
      if (!one.is_string()) bad(path + "/type", "expected type names");
      out += (out.empty() ? "" : " | ") + typed(s, one.get<std::string>(), path, true);
    }
    return "(" + out + ")";
  }

  std::string ref(const ojson& r, const std::string& path) {
    if (!r.is_string()) bad(path + "/$ref", "expected a string");
    const std::string target = r.get<std::string>();
    if (auto it = refs_.find(target); it != refs_.end()) return it->second;
    const ojson* node = nullptr;
    for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
      std::string_view p(prefix);
      if (std::string_view(target).starts_with(p)) {
        std::string name = target.substr(p.size());
        const char* holder = p == "#/$defs/" ? "$defs" : "definitions";
        if (root_.contains(holder) && root_[holder].is_object() && root_[holder].contains(name)) node = &root_[holder][name];
      }
    }
    if (target == "#") node = &root_;
    if (!node) bad(path + "/$ref", fmt::format("'{}' does not name a schema in #/$defs or #/definitions", target));
    std::string name = prefix_ + std::to_string(++counter_);
    refs_[target] = name;  // before visiting: recursive references find it
    const size_t slot = rules_.size();
    rules_.emplace_back();
    std::string body = visit(*node, target.substr(1));
    rules_[slot] = name + " ::= " + body;
    return name;
  }

  // `multi`: one of several types of one schema (visit() checked the keywords against all of them).
  std::string typed(const ojson& s, const std::string& type, const std::string& path, bool multi = false) {
    auto keys = [&](std::initializer_list<const char*> own) {
      if (!multi) check_keys(s, path, own);
    };
    if (type == "null") {
      keys({"type"});
      return "jnull";
    }
    if (type == "boolean") {
      keys({"type"});
      return "jbool";
    }
    if (type == "integer") {
      keys({"type"});
      return "jinteger";
    }
    if (type == "number") {
      keys({"type"});
      return "jnumber";
    }
    if (type == "string") {
      keys({"type", "minLength", "maxLength", "pattern"});
      return string(s, path);
    }
    if (type == "array") {
      keys({"type", "items", "minItems", "maxItems"});
      return array(s, path);
    }
    if (type == "object" || type == "json_object") {
      keys({"type", "properties", "required", "additionalProperties"});
      return object(s, path);
    }
    bad(path + "/type", fmt::format("unknown type '{}'", type));
  }

  std::string string(const ojson& s, const std::string& path) {
    const bool has_len = s.contains("minLength") || s.contains("maxLength");
    if (s.contains("pattern")) {
      if (has_len) unsupported_.emplace_back("minLength/maxLength beside pattern", path);
      if (!s["pattern"].is_string()) bad(path + "/pattern", "expected a string");
      return "\"\\\"\" " + regex_to_gbnf(s["pattern"].get<std::string>(), "jchar") + " \"\\\"\"";
    }
    if (!has_len) return "jstring";
    int64_t lo = count(s, "minLength", path, 0), hi = count(s, "maxLength", path, -1);
    if (hi >= 0 && hi < lo) bad(path, "maxLength is below minLength");
    return "\"\\\"\" jchar{" + std::to_string(lo) + "," + (hi >= 0 ? std::to_string(hi) : "") + "} \"\\\"\"";
  }

  std::string array(const ojson& s, const std::string& path) {
    std::string item = s.contains("items") ? visit(s["items"], path + "/items") : "jvalue";
    if (s.contains("items") && s["items"].is_array()) bad(path + "/items", "tuple form (an array) is not supported");
    int64_t lo = count(s, "minItems", path, 0), hi = count(s, "maxItems", path, -1);
    if (hi >= 0 && hi < lo) bad(path, "maxItems is below minItems");
    if (hi == 0) return "\"[\" ws \"]\"";
    const std::string more_lo = std::to_string(lo > 0 ? lo - 1 : 0), more_hi = hi >= 0 ? std::to_string(hi - 1) : "";
    std::string list = item + " ws (\",\" ws " + item + " ws){" + more_lo + "," + more_hi + "}";
    return new_rule("\"[\" ws " + (lo > 0 ? list : "(" + list + ")?") + " \"]\"");
  }

  std::string object(const ojson& s, const std::string& path) {
    const ojson empty = ojson::object();
    const ojson& props = s.contains("properties") ? s["properties"] : empty;
    if (!props.is_object()) bad(path + "/properties", "expected an object");
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) bad(path + "/required", "expected an array of property names");
      for (const auto& r : s["required"]) {
        if (!r.is_string()) bad(path + "/required", "expected property names");
        if (!props.contains(r.get<std::string>()))
          bad(path + "/required", fmt::format("'{}' is required but not in properties", r.get<std::string>()));
        required.insert(r.get<std::string>());
      }
    }
    const ojson* extra = s.contains("additionalProperties") ? &s["additionalProperties"] : nullptr;
    if (props.empty()) {
      // A map: any keys, values under additionalProperties (absent or true: any value).
      std::string v = "jvalue";
      if (extra && extra->is_boolean() && !extra->get<bool>()) return "\"{\" ws \"}\"";
      if (extra && !extra->is_boolean()) v = visit(*extra, path + "/additionalProperties");
      if (v == "jvalue") return "jobject";
      std::string kv = "jstring ws \":\" ws " + v + " ws";
      return new_rule("\"{\" ws (" + kv + " (\",\" ws " + kv + ")*)? \"}\"");
    }
    if (extra && !(extra->is_boolean() && !extra->get<bool>()))
      unsupported_.emplace_back("additionalProperties (other than false) beside properties", path);
    // kv_i, then S_i = what may follow once something is written, F_i = what may start at i.
    std::vector<std::string> kv;
    std::vector<bool> req;
    for (auto it = props.begin(); it != props.end(); ++it) {
      std::string key = ojson(it.key()).dump();
      kv.push_back(gbnf_literal(key) + " ws \":\" ws " + visit(it.value(), path + "/properties/" + it.key()) + " ws");
      req.push_back(required.count(it.key()) > 0);
    }
    const size_t n = kv.size();
    std::vector<std::string> S(n + 1), F(n + 1);
    S[n] = F[n] = "\"\"";
    for (size_t i = n; i-- > 0;) {
      S[i] = req[i] ? new_rule("\",\" ws " + kv[i] + " " + S[i + 1])
                    : new_rule("(\",\" ws " + kv[i] + ")? " + S[i + 1]);
      F[i] = req[i] ? new_rule(kv[i] + " " + S[i + 1]) : new_rule(kv[i] + " " + S[i + 1] + " | " + F[i + 1]);
    }
    return new_rule("\"{\" ws " + F[0] + " \"}\"");
  }

  const ojson& root_;
  std::string prefix_;
  std::vector<std::string> rules_;
  std::map<std::string, std::string> refs_;
  std::vector<std::pair<std::string, std::string>> unsupported_;  // keyword, pointer
  int counter_ = 0;
};

}  // namespace

std::string gbnf_literal(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') out += '\\', out += ch;
    else if (c < 0x20) out += fmt::format("\\x{:02X}", c);
    else out += ch;
  }
  return out + "\"";
}

std::string json_object_gbnf() { return "root ::= jobject\n" + primitives(); }

std::string json_schema_to_gbnf(std::string_view schema_json) {
  ojson schema;
  try {
    schema = ojson::parse(schema_json);
  } catch (const ojson::parse_error& e) {
    fail("the JSON schema is not valid JSON: {}", e.what());
  }
  if (schema.is_object() && schema.size() == 1 && schema.contains("type") && schema["type"] == "json_object")
    return json_object_gbnf();
  return Compiler(schema).run();
}


std::string json_schema_rules(const std::vector<std::pair<std::string, std::string>>& rules) {
  std::string out;
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& [name, schema_json] = rules[i];
    ojson schema;
    try {
      schema = ojson::parse(schema_json);
    } catch (const ojson::parse_error& e) {
      fail("the JSON schema is not valid JSON: {}", e.what());
    }
    if (schema.is_object() && schema.empty()) {  // no parameters: any object
      out += name + " ::= jobject\n";
      continue;
    }
    Compiler c(schema, fmt::format("x{}s", i));
    const std::string top = c.compile();  // before rules(): it adds them
    out += name + " ::= " + top + "\n" + c.rules();
  }
  return out + primitives();
}

}  // namespace baimo::constrained
