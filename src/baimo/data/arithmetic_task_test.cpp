#include "baimo/data/arithmetic_task.h"

#include <gtest/gtest.h>

#include <set>

#include "baimo/util/error.h"

namespace baimo {
namespace arithmetic_task_test {

std::string describe(const ArithmeticProblem& p) {
  return p.prompt + "|" + p.answer + "|" + p.rejected;
}

TEST(ArithmeticTask, AnswersAreRightAndWrongAnswersNeverAre) {
  ArithmeticOptions o;
  o.ops = "+-*";
  o.zh_fraction = 0.5;
  auto s = generate_arithmetic(o, 500, 100);
  ASSERT_EQ(s.train.size(), 500u);
  ASSERT_EQ(s.held_out.size(), 100u);
  for (const auto* side : {&s.train, &s.held_out})
    for (const auto& p : *side) {
      EXPECT_EQ(p.answer, std::to_string(arithmetic_result(p.a, p.op, p.b))) << describe(p);
      EXPECT_NE(p.rejected, p.answer) << describe(p);
      EXPECT_GE(std::stoll(p.rejected), 0) << describe(p);
      EXPECT_GE(std::stoll(p.answer), 0) << describe(p);
      EXPECT_LT(p.a, 100);
      EXPECT_LT(p.b, p.op == '*' ? 10 : 100);
      if (p.op == '-') {
        EXPECT_GE(p.a, p.b);
      }
      EXPECT_NE(p.prompt.find(std::to_string(p.a)), std::string::npos) << describe(p);
    }
}

TEST(ArithmeticTask, WrongAnswersArePlausibleAndDistinct) {
  // 58 + 37 = 95: ±1, ±10, the dropped carry 85, the swapped digits 59, the other ops 21 and 2146.
  auto w = wrong_answers(58, '+', 37);
  EXPECT_EQ(w, (std::vector<std::string>{"96", "94", "105", "85", "59", "21", "2146"}));
  // 52 - 37 = 15: the borrow slip takes 2 from 7 -> 25.
  w = wrong_answers(52, '-', 37);
  EXPECT_NE(std::find(w.begin(), w.end(), "25"), w.end());
  EXPECT_NE(std::find(w.begin(), w.end(), "5"), w.end());  // off by ten
  // 0 + 0: no negatives, never the answer, never empty.
  for (char op : std::string("+-*"))
    for (int64_t a = 0; a < 30; ++a)
      for (int64_t b = 0; b <= (op == '-' ? a : 9); ++b) {
        auto v = wrong_answers(a, op, b);
        ASSERT_FALSE(v.empty());
        std::set<std::string> seen(v.begin(), v.end());
        EXPECT_EQ(seen.size(), v.size());
        EXPECT_FALSE(seen.contains(std::to_string(arithmetic_result(a, op, b))));
        for (auto& x : v) EXPECT_GE(std::stoll(x), 0);
      }
}

TEST(ArithmeticTask, TrainAndHeldOutNeverShareAProblem) {
  ArithmeticOptions o;
  o.digits = 1;
  o.ops = "+*";  // a small space (110 problems), commutative: 3 + 5 and 5 + 3 are one problem
  auto s = generate_arithmetic(o, 70, 15);
  std::set<std::string> held, train;
  for (auto& p : s.held_out) EXPECT_TRUE(held.insert(arithmetic_key(p.a, p.op, p.b)).second) << describe(p);
  for (auto& p : s.train) {
    const auto key = arithmetic_key(p.a, p.op, p.b);
    EXPECT_TRUE(train.insert(key).second) << describe(p);
    EXPECT_FALSE(held.contains(key)) << describe(p);
  }
  EXPECT_EQ(arithmetic_key(5, '+', 3), arithmetic_key(3, '+', 5));
  EXPECT_NE(arithmetic_key(5, '-', 3), arithmetic_key(3, '-', 5));
}

TEST(ArithmeticTask, DeterministicAndHeldOutIndependentOfTrainCount) {
  ArithmeticOptions o;
  o.seed = 7;
  auto a = generate_arithmetic(o, 50, 20), b = generate_arithmetic(o, 50, 20), c = generate_arithmetic(o, 80, 20);
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(describe(a.held_out[i]), describe(b.held_out[i]));
    EXPECT_EQ(describe(a.held_out[i]), describe(c.held_out[i]));
  }
  for (size_t i = 0; i < 50; ++i) EXPECT_EQ(describe(a.train[i]), describe(b.train[i]));
  // The first problems of seed 1 are fixed forever (platform-independent stream).
  auto fixed = generate_arithmetic(ArithmeticOptions{}, 1, 1);
  EXPECT_EQ(describe(fixed.held_out[0]), "6 + 78 = ?|84|94");
  EXPECT_EQ(describe(fixed.train[0]), "Compute 34 + 43.|77|87");
  o.seed = 8;
  auto d = generate_arithmetic(o, 50, 20);
  int same = 0;
  for (size_t i = 0; i < 20; ++i) same += describe(a.held_out[i]) == describe(d.held_out[i]);
  EXPECT_LT(same, 3);
}

TEST(ArithmeticTask, RlProblemsAreNeitherTrainNorHeldOutAndLeaveThemUnchanged) {
  ArithmeticOptions o;
  o.digits = 1;
  o.ops = "+*";  // 110 problems: 60 + 15 + 12 is near the 80% that can be drawn
  auto plain = generate_arithmetic(o, 60, 15), s = generate_arithmetic(o, 60, 15, 12);
  ASSERT_EQ(s.rl.size(), 12u);
  EXPECT_TRUE(plain.rl.empty());
  ASSERT_EQ(s.train.size(), 60u);
  for (size_t i = 0; i < 60; ++i) EXPECT_EQ(describe(s.train[i]), describe(plain.train[i]));
  for (size_t i = 0; i < 15; ++i) EXPECT_EQ(describe(s.held_out[i]), describe(plain.held_out[i]));
  std::set<std::string> others;
  for (const auto* side : {&s.train, &s.held_out})
    for (auto& p : *side) others.insert(arithmetic_key(p.a, p.op, p.b));
  std::set<std::string> rl;
  for (auto& p : s.rl) {
    const auto key = arithmetic_key(p.a, p.op, p.b);
    EXPECT_TRUE(rl.insert(key).second) << describe(p);
    EXPECT_FALSE(others.contains(key)) << describe(p);
    EXPECT_EQ(p.answer, std::to_string(arithmetic_result(p.a, p.op, p.b))) << describe(p);
  }
  try {
    generate_arithmetic(o, 60, 15, 20);
    ADD_FAILURE() << "95 of 110 problems accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("60 train + 15 held-out + 20 RL"), std::string::npos) << e.what();
  }
}

TEST(ArithmeticTask, ChinesePhrasingFollowsTheFraction) {
  ArithmeticOptions o;
  o.zh_fraction = 0;
  for (auto& p : generate_arithmetic(o, 100, 0).train) EXPECT_EQ(p.prompt.find("等于"), std::string::npos) << p.prompt;
  o.zh_fraction = 1;
  for (auto& p : generate_arithmetic(o, 100, 0).train) EXPECT_NE(p.prompt.find("等于多少？"), std::string::npos) << p.prompt;
}

TEST(ArithmeticTask, BadOptionsAndImpossibleCountsAreErrors) {
  auto err = [](ArithmeticOptions o, size_t train = 10, size_t held = 10) {
    try {
      generate_arithmetic(o, train, held);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ArithmeticOptions o;
  o.digits = 0;
  EXPECT_NE(err(o).find("--digits 0"), std::string::npos);
  o = {};
  o.ops = "+/";
  EXPECT_NE(err(o).find("'/'"), std::string::npos);
  o.ops = "++";
  EXPECT_NE(err(o).find("twice"), std::string::npos);
  o.ops = "";
  EXPECT_NE(err(o).find("empty"), std::string::npos);
  o = {};
  o.zh_fraction = 1.5;
  EXPECT_NE(err(o).find("zh-fraction"), std::string::npos);
  o = {};
  o.digits = 1;
  o.ops = "+";  // 55 distinct problems
  EXPECT_EQ(arithmetic_space_size(o), 55u);
  EXPECT_NE(err(o, 40, 10).find("allow only 55"), std::string::npos);
  EXPECT_EQ(err(o, 30, 10), "no error");
  o.second_digits = 7;
  EXPECT_NE(err(o).find("--second-digits 7"), std::string::npos);
  // Two-digit and one-digit operands: 100 x 10 pairs, the 45 one-digit pairs both ways; × by default.
  o = {};
  o.second_digits = 1;
  o.ops = "+-";
  EXPECT_EQ(arithmetic_space_size(o), 2u * (1000 - 45));
  o.ops = "*";
  o.second_digits = 0;
  EXPECT_EQ(arithmetic_space_size(o), 1000u - 45);
  o.ops = "+";
  EXPECT_EQ(arithmetic_space_size(o), 5050u);
}

}  // namespace arithmetic_task_test

}  // namespace baimo
