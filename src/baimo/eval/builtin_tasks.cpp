#include "baimo/eval/builtin_tasks.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "baimo/util/error.h"

namespace baimo::eval {
namespace {

// splitmix64: the same stream on every platform.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }
  int range(int lo, int hi) { return lo + below(hi - lo + 1); }  // inclusive
};

constexpr std::string_view kLatin = "abcdefghijklmnopqrstuvwxyz";
// 2-4 common characters per string; each entry is one UTF-8 character.
const std::vector<std::string> kHanzi = {"山", "水", "花", "鸟", "风", "云", "月", "日", "天", "地", "人", "火",
                                         "木", "金", "土", "石", "田", "林", "雨", "雪", "春", "秋", "书", "马"};

enum class Kind { Arith, Copy, Reverse };
struct Spec {
  Kind kind;
  bool mc, zh;
};

// The string as characters (Latin letters or 汉字), so reversal works per character.
std::vector<std::string> random_word(Rng& r, bool zh) {
  std::vector<std::string> w;
  const int n = zh ? r.range(2, 4) : r.range(3, 6);
  for (int i = 0; i < n; ++i) {
    if (zh) w.push_back(kHanzi[static_cast<size_t>(r.below(static_cast<int>(kHanzi.size())))]);
    else w.emplace_back(1, kLatin[static_cast<size_t>(r.below(26))]);
  }
  return w;
}
std::string join(const std::vector<std::string>& w) {
  std::string s;
  for (auto& c : w) s += c;
  return s;
}

std::string arith_question(int a, int b, bool zh) {
  return zh ? fmt::format("{} 加 {} 等于多少？", a, b) : fmt::format("What is {} + {}?", a, b);
}

// Distinct distractors first, then the gold placed at a random index.
McExample mc_from(Rng& r, std::string context, std::string gold, std::vector<std::string> distractors, bool zh) {
  McExample e;
  e.context = std::move(context);
  const std::string sp = zh ? "" : " ";
  std::vector<std::string> all{gold};
  for (auto& d : distractors)
    if (std::find(all.begin(), all.end(), d) == all.end()) all.push_back(d);
  std::vector<std::string> rest(all.begin() + 1, all.end());
  // Fisher-Yates with our generator.
  for (size_t i = rest.size(); i > 1; --i) std::swap(rest[i - 1], rest[static_cast<size_t>(r.below(static_cast<int>(i)))]);
  e.gold = r.below(static_cast<int>(rest.size()) + 1);
  rest.insert(rest.begin() + e.gold, gold);
  for (auto& c : rest) e.choices.push_back(sp + c);
  return e;
}

std::string mc_context(const std::string& question, bool zh) {
  return zh ? "问题：" + question + "\n答案：" : "Question: " + question + "\nAnswer:";
}

// One example of the spec, drawn from r. Key: its prompt/context (for the held-out check).
void draw(const Spec& s, Rng& r, Task& t, std::vector<std::string>& keys, bool dev) {
  if (s.kind == Kind::Arith) {
    const int a = r.range(10, 99), b = r.range(10, 99), sum = a + b;
    const std::string q = arith_question(a, b, s.zh);
    if (s.mc) {
      std::vector<std::string> d{std::to_string(sum + 1), std::to_string(sum - 1), std::to_string(sum + 10),
                                 std::to_string(sum - 10)};
      d.erase(d.begin() + r.below(4));  // 3 distractors, all distinct from the sum
      McExample e = mc_from(r, mc_context(q, s.zh), std::to_string(sum), d, s.zh);
      keys.push_back(e.context);
      (dev ? t.mc_dev : t.mc_test).push_back(std::move(e));
    } else {
      GenExample e{q, std::to_string(sum), ExtractKind::LastNumber, ""};
      keys.push_back(e.prompt);
      (dev ? t.gen_dev : t.gen_test).push_back(std::move(e));
    }
    return;
  }
  std::vector<std::string> w = random_word(r, s.zh);
  while (s.kind == Kind::Reverse && std::equal(w.begin(), w.end(), w.rbegin())) w = random_word(r, s.zh);
  const std::string word = join(w);
  std::vector<std::string> rev(w.rbegin(), w.rend());
  const std::string reversed = join(rev);
  if (s.kind == Kind::Copy) {
    GenExample e{s.zh ? "请原样重复：" + word : "Repeat exactly: " + word, word, ExtractKind::Exact, ""};
    keys.push_back(e.prompt);
    (dev ? t.gen_dev : t.gen_test).push_back(std::move(e));
    return;
  }
  const std::string q = s.zh ? "把下面的字倒过来写：" + word : "Write backwards: " + word;
  if (!s.mc) {
    GenExample e{q, reversed, ExtractKind::Exact, ""};
    keys.push_back(e.prompt);
    (dev ? t.gen_dev : t.gen_test).push_back(std::move(e));
    return;
  }
  // Distractors: the word itself, the reversal with two neighbouring characters swapped (twice).
  std::vector<std::string> d{word};
  for (int k = 0; k < 3; ++k) {
    std::vector<std::string> x = rev;
    const size_t i = static_cast<size_t>(r.below(static_cast<int>(x.size()) - 1));
    std::swap(x[i], x[i + 1]);
    d.push_back(join(x));
  }
  McExample e = mc_from(r, mc_context(q, s.zh), reversed, d, s.zh);
  keys.push_back(e.context);
  (dev ? t.mc_dev : t.mc_test).push_back(std::move(e));
}

Spec parse(std::string_view name) {
  Spec s{};
  std::string_view n = name;
  s.zh = n.ends_with("_zh");
  if (s.zh) n.remove_suffix(3);
  if (n == "arith_gen") s = {Kind::Arith, false, s.zh};
  else if (n == "arith_mc") s = {Kind::Arith, true, s.zh};
  else if (n == "copy_gen") s = {Kind::Copy, false, s.zh};
  else if (n == "reverse_gen") s = {Kind::Reverse, false, s.zh};
  else if (n == "reverse_mc") s = {Kind::Reverse, true, s.zh};
  else {
    std::string all;
    for (auto& x : builtin_task_names()) all += (all.empty() ? "" : ", ") + x;
    fail("unknown built-in task '{}' (built-in tasks: {}; a file path is read as a multiple-choice file)", name, all);
  }
  return s;
}

}  // namespace

const std::vector<std::string>& builtin_task_names() {
  static const std::vector<std::string> names = {"arith_gen",   "arith_gen_zh",   "arith_mc",   "arith_mc_zh",
                                                 "copy_gen",    "copy_gen_zh",    "reverse_gen", "reverse_gen_zh",
                                                 "reverse_mc",  "reverse_mc_zh"};
  return names;
}

bool is_builtin_task(std::string_view name) {
  auto& n = builtin_task_names();
  return std::find(n.begin(), n.end(), name) != n.end();
}

Task make_builtin_task(std::string_view name, uint64_t seed, int test_size, int dev_size) {
  const Spec s = parse(name);
  if (test_size < 1 || dev_size < 0) fail("task {}: test size {} must be >= 1 and dev size {} >= 0", name, test_size, dev_size);
  Task t;
  t.name = std::string(name);
  t.generation = !s.mc;
  // Independent streams per split; the name is mixed in so suites differ from each other.
  uint64_t h = 1469598103934665603ULL;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  Rng test_rng{seed * 0x9e3779b97f4a7c15ULL ^ h}, dev_rng{(seed + 0x5851f42d4c957f2dULL) * 0xbf58476d1ce4e5b9ULL ^ h};
  std::vector<std::string> test_keys, dev_keys;
  std::set<std::string> seen;
  // Test: distinct examples (a small space, e.g. 3-letter copies, may repeat otherwise).
  for (int tries = 0; static_cast<int>(t.size()) < test_size && tries < test_size * 20; ++tries) {
    draw(s, test_rng, t, test_keys, false);
    if (!seen.insert(test_keys.back()).second) {
      if (t.generation) t.gen_test.pop_back();
      else t.mc_test.pop_back();
    }
  }
  const auto dev_size_now = [&] { return t.generation ? t.gen_dev.size() : t.mc_dev.size(); };
  for (int tries = 0; static_cast<int>(dev_size_now()) < dev_size && tries < dev_size * 20; ++tries) {
    draw(s, dev_rng, t, dev_keys, true);
    if (!seen.insert(dev_keys.back()).second) {  // equal to a test example or an earlier dev one
      if (t.generation) t.gen_dev.pop_back();
      else t.mc_dev.pop_back();
    }
  }
  return t;
}

}  // namespace baimo::eval
