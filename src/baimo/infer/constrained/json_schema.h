// json_schema_to_gbnf: a JSON Schema (the subset OpenAI's structured outputs use) compiled to a
// GBNF grammar (grammar.h) whose language is JSON text valid under the schema.
// Supported: type (object, array, string, number, integer, boolean, null, and arrays of types),
// properties + required (each optional property may be present or absent, in the schema's property
// order: keys are written in that order, as llama.cpp does), additionalProperties false or absent
// (both mean: no other keys) and, for objects without properties, true or a schema (a map),
// enum, const, anyOf, oneOf (as anyOf: exclusivity is not enforced), items, minItems, maxItems,
// minLength, maxLength, pattern (regex_to_gbnf.h), $ref to #/$defs/.. and #/definitions/..
// (recursion allowed), nested objects. Annotations are ignored: title, description, $schema, $id,
// $comment, default, examples, deprecated, readOnly, writeOnly, strict. {"type": "json_object"}
// (or an empty schema {} at the top) means any JSON object.
// Text form: no whitespace before or after the top value; between tokens nothing, one space, or a
// newline and at most kMaxJsonSpaces spaces / tabs (as llama.cpp; a model cannot loop on spaces); numbers have at most 16 integer
// digits, 16 fraction digits and 3 exponent digits; string escapes \" \\ \/ \b \f \n \r \t \uXXXX
// (a \u escape counts as one character for minLength / maxLength).
// Errors: baimo::Error. Unsupported keywords are collected over the whole schema and reported in
// one message, each with its JSON pointer ("unsupported JSON Schema keywords: minimum at
// /properties/age, format at /properties/email"); other problems (bad $ref, wrong value types)
// name the pointer too. UnsupportedSchema carries the keyword list for API errors.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "baimo/util/error.h"

namespace baimo::constrained {

inline constexpr int kMaxJsonSpaces = 20;

struct UnsupportedSchema : Error {
  std::vector<std::string> keywords;
  UnsupportedSchema(const std::string& msg, std::vector<std::string> kw) : Error(msg), keywords(std::move(kw)) {}
};

// schema_json: the schema as JSON text (key order matters: it is the property order).
std::string json_schema_to_gbnf(std::string_view schema_json);
// Several schemas in one grammar (tool calls): rule `name` derives its schema's JSON text (an empty
// schema {}: any object); the primitives are included once, no `root` rule is written (the caller
// writes it). Errors as json_schema_to_gbnf's, for the first schema that has them.
std::string json_schema_rules(const std::vector<std::pair<std::string, std::string>>& name_and_schema);
// Any JSON object (response_format json_object).
std::string json_object_gbnf();

// A GBNF string literal matching exactly the bytes of `s` (quotes and backslashes escaped, control bytes as \xHH).
std::string gbnf_literal(std::string_view s);

}  // namespace baimo::constrained
