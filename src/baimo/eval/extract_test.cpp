#include "baimo/eval/extract.h"

#include <gtest/gtest.h>

#include "baimo/util/error.h"

using namespace baimo;
using namespace baimo::eval;

TEST(Extract, LastNumberEnglish) {
  EXPECT_EQ(extract_last_number("The answer is 81."), "81");
  EXPECT_EQ(extract_last_number("23 + 58 = 81"), "81");
  EXPECT_EQ(extract_last_number("It costs 1,234 dollars"), "1234");
  EXPECT_EQ(extract_last_number("about 12,345,678 people"), "12345678");
  EXPECT_EQ(extract_last_number("42 apples"), "42");
  EXPECT_EQ(extract_last_number("42km"), "42");
  EXPECT_EQ(extract_last_number("x = -5"), "-5");
  EXPECT_EQ(extract_last_number("pages 3-5"), "5");
  EXPECT_EQ(extract_last_number("3.50"), "3.5");
  EXPECT_EQ(extract_last_number("7.0 m"), "7");
  EXPECT_EQ(extract_last_number("007"), "7");
  EXPECT_EQ(extract_last_number("1, 2, 3"), "3");       // a comma and a space separate
  EXPECT_EQ(extract_last_number("1,23"), "23");         // not a thousands group
  EXPECT_EQ(extract_last_number("no digits here"), std::nullopt);
  EXPECT_EQ(extract_last_number(""), std::nullopt);
}

TEST(Extract, LastNumberChinese) {
  EXPECT_EQ(extract_last_number("答案是８１。"), "81");              // 全角 digits
  EXPECT_EQ(extract_last_number("共１，２３４元"), "1234");          // 全角 comma between groups
  EXPECT_EQ(extract_last_number("23 加 58 等于 81 个苹果"), "81");    // trailing unit
  EXPECT_EQ(extract_last_number("结果：－１２"), "-12");              // 全角 minus
  EXPECT_EQ(extract_last_number("３．５公斤"), "3.5");
  EXPECT_EQ(extract_last_number("有12个，还剩3个"), "3");             // 全角 comma as a separator
  EXPECT_EQ(extract_last_number("没有答案"), std::nullopt);
}

TEST(Extract, ExactAndRegex) {
  EXPECT_EQ(extract_exact("  abc \n"), "abc");
  EXPECT_EQ(extract_exact(" \n\t"), std::nullopt);
  EXPECT_EQ(extract_exact("花水山"), "花水山");
  EXPECT_EQ(extract_regex("Answer: B. and then Answer: C", "Answer: ([A-D])"), "C");
  EXPECT_EQ(extract_regex("答案是Ｂ", "[A-D]"), std::nullopt);
  EXPECT_EQ(extract_regex("x=12", "\\d+"), "12");  // no group: the whole match
  EXPECT_THROW(extract_regex("x", "(unclosed"), Error);
}

TEST(Extract, JsonField) {
  EXPECT_EQ(extract_json_field("Sure! {\"answer\": \"北京\"}", "answer"), "北京");
  EXPECT_EQ(extract_json_field("{\"answer\": 1} then {\"answer\": 42, \"why\": \"a } in a string\"}", "answer"), "42");
  EXPECT_EQ(extract_json_field("{\"result\": {\"value\": [1, 2]}}", "result.value"), "[1,2]");
  EXPECT_EQ(extract_json_field("{\"answer\": 7} {\"other\": 1}", "answer"), "7");  // the last object that has it
  EXPECT_EQ(extract_json_field("{\"answer\": 7", "answer"), std::nullopt);            // unbalanced
  EXPECT_EQ(extract_json_field("no json", "answer"), std::nullopt);
  GenExample j{"q", "81", ExtractKind::JsonField, "answer"};
  EXPECT_TRUE(check_answer(j, "```json\n{\"answer\": 81}\n```").correct);
}

TEST(Extract, CheckAnswer) {
  GenExample num{"q", "1234", ExtractKind::LastNumber, ""};
  EXPECT_TRUE(check_answer(num, "It is １，２３４ yuan").correct);
  EXPECT_FALSE(check_answer(num, "It is 123").correct);
  AnswerCheck none = check_answer(num, "I don't know");
  EXPECT_FALSE(none.extracted);
  EXPECT_FALSE(none.correct);
  GenExample ex{"q", "cba", ExtractKind::Exact, ""};
  EXPECT_TRUE(check_answer(ex, " cba\n").correct);
  EXPECT_FALSE(check_answer(ex, "cba.").correct);
  GenExample re{"q", "B", ExtractKind::Regex, "answer is ([A-D])"};
  EXPECT_TRUE(check_answer(re, "so the answer is B").correct);
  EXPECT_FALSE(check_answer(re, "B").extracted);
}
