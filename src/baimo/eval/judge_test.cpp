#include "baimo/eval/judge.h"

#include <gtest/gtest.h>

#include "baimo/util/error.h"

using namespace baimo;
using namespace baimo::eval;

TEST(Judge, FillsPlaceholdersInOnePass) {
  EXPECT_EQ(fill_judge_template("Q={question} A={answer_a} B={answer_b} {other}", "q", "{answer_b}", "b"),
            "Q=q A={answer_b} B=b {other}");
  const std::string d = fill_judge_template(kDefaultJudgeTemplate, "2+2?", "4", "5");
  EXPECT_NE(d.find("[Answer A]\n4\n\n[Answer B]\n5"), std::string::npos) << d;
  EXPECT_NO_THROW(check_judge_template(kDefaultJudgeTemplate, "default"));
  try {
    check_judge_template("{question} {answer_a}", "judge.txt");
    FAIL() << "no error for a missing placeholder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("judge.txt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("{answer_b}"), std::string::npos) << e.what();
  }
}

TEST(Judge, BothOrdersMustAgree) {
  EXPECT_EQ(judge_outcome(1.0, -0.5), Outcome::Win);    // A-first prefers a, B-first prefers a
  EXPECT_EQ(judge_outcome(-1.0, 0.5), Outcome::Loss);   // both prefer b
  EXPECT_EQ(judge_outcome(1.0, 0.5), Outcome::Tie);     // always "A": position bias, a tie
  EXPECT_EQ(judge_outcome(-1.0, -0.5), Outcome::Tie);   // always "B"
  EXPECT_EQ(judge_outcome(0.0, -0.5), Outcome::Tie);    // no preference in one order
}
