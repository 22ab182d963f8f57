#include "baimo/eval/mc_reader.h"

#include <gtest/gtest.h>

#include "baimo/util/error.h"

namespace mc_reader_test {
using namespace baimo;
using namespace baimo::eval;

// The message of the baimo::Error that f throws ("" when none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(McReader, CevalCsv) {
  auto v = parse_mc_text("id,question,A,B,C,D,answer\n0,\"1+1=?\n(two lines)\",1,2,3,4,B\n1,中国的首都是,上海,北京,广州,深圳,B\n",
                         "t.csv", true);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].context, "1+1=?\n(two lines)\nA. 1\nB. 2\nC. 3\nD. 4\n答案：");
  EXPECT_EQ(v[0].choices, (std::vector<std::string>{"A", "B", "C", "D"}));
  EXPECT_EQ(v[0].gold, 1);
  EXPECT_EQ(v[1].context, "中国的首都是\nA. 上海\nB. 北京\nC. 广州\nD. 深圳\n答案：");
}

TEST(McReader, ArcAndHellaswagJsonl) {
  auto v = parse_mc_text(
      "{\"question\": \"Sky?\", \"choices\": {\"text\": [\"red\", \"blue\"], \"label\": [\"A\", \"B\"]}, \"label\": \"B\"}\n"
      "\n"
      "{\"query\": \"He opened the door and\", \"choices\": [\"left.\", \"ate it.\", \"sang.\"], \"gold\": 0}\n"
      "{\"question\": \"Q\", \"choices\": [\"x\", \"y\"], \"label\": 1}\n"
      "{\"question\": \"Q\", \"A\": \"1\", \"B\": \"2\", \"C\": \"3\", \"D\": \"4\", \"answer\": \"D\"}\n",
      "t.jsonl", false);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].context, "Question: Sky?\nAnswer:");
  EXPECT_EQ(v[0].choices, (std::vector<std::string>{" red", " blue"}));
  EXPECT_EQ(v[0].gold, 1);
  EXPECT_EQ(v[1].context, "He opened the door and");
  EXPECT_EQ(v[1].gold, 0);
  EXPECT_EQ(v[2].gold, 1);
  EXPECT_EQ(v[3].gold, 3);
  EXPECT_EQ(v[3].choices.size(), 4u);
}

TEST(McReader, ErrorsNameFileLineAndField) {
  EXPECT_EQ(error_of([] { parse_mc_text("question,A,B,C,D\nq,1,2,3,4\n", "a.csv", true); }),
            "a.csv:1: header has no column 'answer' (needs question, A, B, C, D, answer)");
  EXPECT_EQ(error_of([] { parse_mc_text("question,A,B,C,D,answer\nq,1,2,3,4,E\n", "a.csv", true); }),
            "a.csv:2: field 'answer' is 'E', expected one of A, B, C, D");
  EXPECT_EQ(error_of([] { parse_mc_text("question,A,B,C,D,answer\n\"q\n\",1,2,,4,A\n", "a.csv", true); }),
            "a.csv:2: field 'C' is empty");
  EXPECT_EQ(error_of([] { parse_mc_text("question,A,B,C,D,answer\nq,1,2\n", "a.csv", true); }),
            "a.csv:2: row has 3 cells, no field 'C' (column 4)");
  EXPECT_EQ(error_of([] { parse_mc_text("question,A,B,C,D,answer\n\"q,1,2,3,4,A\n", "a.csv", true); }),
            "a.csv:2: unterminated quoted field");
  EXPECT_EQ(error_of([] { parse_mc_text("", "a.csv", true); }),
            "a.csv: empty file (expected a header row: question,A,B,C,D,answer)");
  EXPECT_EQ(error_of([] { parse_mc_text("{\"question\": \"q\", \"choices\": [\"a\", \"b\"]}\n", "b.jsonl", false); }),
            "b.jsonl:1: missing field 'gold' or 'label'");
  EXPECT_EQ(error_of([] { parse_mc_text("\n{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 2}", "b.jsonl", false); }),
            "b.jsonl:2: field 'gold' is 2, not one of the 2 choices");
  EXPECT_EQ(error_of([] { parse_mc_text("{\"choices\": [\"a\", \"b\"], \"gold\": 0}", "b.jsonl", false); }),
            "b.jsonl:1: missing field 'query' or 'question'");
  EXPECT_EQ(error_of([] { parse_mc_text("{\"query\": \"q\", \"choices\": [\"a\"], \"gold\": 0}", "b.jsonl", false); }),
            "b.jsonl:1: field 'choices' has 1 choice(s), needs at least 2");
  EXPECT_EQ(error_of([] { parse_mc_text("{\"query\": \"q\", \"choices\": \"ab\", \"gold\": 0}", "b.jsonl", false); }),
            "b.jsonl:1: field 'choices' must be a list of strings, got string");
  EXPECT_EQ(error_of([] { parse_mc_text("{\"query\": 3, \"choices\": [\"a\", \"b\"], \"gold\": 0}", "b.jsonl", false); }),
            "");  // a number is read as its text
  EXPECT_NE(error_of([] { parse_mc_text("{\"query\": \"q\",", "b.jsonl", false); }).find("b.jsonl:1: not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([] { read_mc_file("/nonexistent/x.jsonl"); }).find("/nonexistent/x.jsonl"), std::string::npos);
  EXPECT_NE(error_of([] { read_mc_file("x.txt"); }).find("x.txt: multiple-choice files are"), std::string::npos);
}

}  // namespace mc_reader_test
