#include "baimo/eval/gen_reader.h"

#include <gtest/gtest.h>

#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace gen_reader_test {
using namespace baimo;
using namespace baimo::eval;

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GenReader, FieldsAndDefaults) {
  auto v = parse_gen_text(
      "{\"prompt\": \"12 + 30 = ?\", \"answer\": 42}\n"
      "{\"prompt\": \"首都？\", \"answer\": \"北京\"}\n"
      "\n"
      "{\"prompt\": \"p\", \"answer\": \"1,234\"}\n"
      "{\"prompt\": \"p\", \"answer\": \"B\", \"extract\": \"regex\", \"pattern\": \"answer is ([A-D])\"}\n"
      "{\"prompt\": \"p\", \"answer\": \"x\", \"extract\": \"json\", \"pattern\": \"result.value\"}\n",
      "g.jsonl");
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0].answer, "42");
  EXPECT_EQ(v[0].extract, ExtractKind::LastNumber);
  EXPECT_EQ(v[1].extract, ExtractKind::Exact);
  EXPECT_EQ(v[2].extract, ExtractKind::LastNumber);
  EXPECT_EQ(v[3].extract, ExtractKind::Regex);
  EXPECT_EQ(v[3].pattern, "answer is ([A-D])");
  EXPECT_EQ(v[4].extract, ExtractKind::JsonField);
}

TEST(GenReader, ErrorsNameFileLineAndField) {
  EXPECT_EQ(error_of([] { parse_gen_text("{\"answer\": 1}", "g.jsonl"); }), "g.jsonl:1: missing field 'prompt'");
  EXPECT_EQ(error_of([] { parse_gen_text("\n{\"prompt\": \"p\"}", "g.jsonl"); }), "g.jsonl:2: missing field 'answer'");
  EXPECT_EQ(error_of([] { parse_gen_text("{\"prompt\": \"p\", \"answer\": [1]}", "g.jsonl"); }),
            "g.jsonl:1: field 'answer' must be a string or a number, got array");
  EXPECT_EQ(error_of([] { parse_gen_text("{\"prompt\": \"p\", \"answer\": 1, \"extract\": \"fuzzy\"}", "g.jsonl"); }),
            "g.jsonl:1: field 'extract' is 'fuzzy', expected number, exact, regex or json");
  EXPECT_EQ(error_of([] { parse_gen_text("{\"prompt\": \"p\", \"answer\": 1, \"extract\": \"regex\"}", "g.jsonl"); }),
            "g.jsonl:1: field 'pattern' (a non-empty string) is needed with extract 'regex'");
  EXPECT_NE(error_of([] { parse_gen_text("{\"prompt\": \"p\", \"answer\": 1, \"extract\": \"regex\", \"pattern\": \"(\"}", "g.jsonl"); })
                .find("g.jsonl:1: field 'pattern': answer pattern '(' is not a valid regular expression"),
            std::string::npos);
  EXPECT_EQ(error_of([] { parse_gen_text("{\"prompt\": ", "g.jsonl"); }), "g.jsonl:1: not valid JSON");
  EXPECT_EQ(error_of([] { parse_gen_text("", "g.jsonl"); }), "g.jsonl: no examples");
}

TEST(GenReader, TaskFileKinds) {
  TempDir d("baimo_eval_taskfile_");
  Task g = read_task_file(d.file("math.jsonl", "\n{\"prompt\": \"1+1\", \"answer\": 2}\n"));
  EXPECT_EQ(g.name, "math");
  EXPECT_TRUE(g.generation);
  EXPECT_EQ(g.gen_test.size(), 1u);
  Task m = read_task_file(d.file("arc.jsonl", "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 1}\n"));
  EXPECT_FALSE(m.generation);
  EXPECT_EQ(m.mc_test[0].gold, 1);
  Task c = read_task_file(d.file("ceval.csv", "question,A,B,C,D,answer\nq,1,2,3,4,C\n"));
  EXPECT_EQ(c.name, "ceval");
  EXPECT_EQ(c.mc_test[0].gold, 2);
}

}  // namespace gen_reader_test
