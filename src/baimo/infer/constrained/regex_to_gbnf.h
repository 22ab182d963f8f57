// regex_to_gbnf: a JSON-schema `pattern` (an ECMAScript regex subset) as a GBNF expression over the
// characters of a JSON string's body (between the quotes, escapes as the JSON text spells them).
// Subset: literals, escapes \d \w \s \D \W \S \. \\ \/ \- etc., classes [a-z_] and [^...] (\d \w \s
// inside), `.`, groups ( ) and (?: ), alternation |, quantifiers * + ? {m} {m,} {m,n} (a lazy `?`
// after one is accepted and means the same here), anchors ^ at the very start and $ at the very end.
// As JSON Schema says, a pattern is a search: without ^ any text may come first, without $ any
// text may follow (`any_char_rule` names the rule for one JSON string character).
// Limits: `.` and classes match only characters written unescaped in JSON (not " \ or controls);
// a literal " or \ in the pattern is matched as its escape \" \\; \s is a space or the escapes
// \t \n \r. Anything else (backreferences, lookaround, \b, anchors inside) throws baimo::Error
// naming the pattern and the offending part.
#pragma once
#include <string>
#include <string_view>

namespace baimo::constrained {

std::string regex_to_gbnf(std::string_view pattern, const std::string& any_char_rule);

}  // namespace baimo::constrained
