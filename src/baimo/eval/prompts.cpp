#include "baimo/eval/prompts.h"

#include <algorithm>

namespace baimo::eval {
namespace {

uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The example's shots as (dev?, index) pairs.
std::vector<std::pair<bool, size_t>> shots_of(const Task& t, size_t index, int shots, uint64_t seed) {
  const size_t dev = t.generation ? t.gen_dev.size() : t.mc_dev.size();
  std::vector<std::pair<bool, size_t>> out;
  for (size_t k : pick_shots(dev, t.size(), index, shots, seed)) out.emplace_back(dev > 0, k);
  return out;
}

}  // namespace

std::vector<size_t> pick_shots(size_t dev_size, size_t test_size, size_t index, int shots, uint64_t seed) {
  std::vector<size_t> pool;
  if (dev_size > 0) {
    for (size_t i = 0; i < dev_size; ++i) pool.push_back(i);
  } else {
    for (size_t i = 0; i < test_size; ++i)
      if (i != index) pool.push_back(i);
  }
  // Partial Fisher-Yates on a stream of (seed, index).
  uint64_t s = mix(seed ^ mix(index + 1));
  const size_t n = std::min(pool.size(), static_cast<size_t>(std::max(shots, 0)));
  for (size_t i = 0; i < n; ++i) {
    s = mix(s);
    std::swap(pool[i], pool[i + static_cast<size_t>(s % (pool.size() - i))]);
  }
  pool.resize(n);
  return pool;
}

std::string mc_context(const Task& t, size_t index, int shots, uint64_t seed) {
  std::string out;
  for (auto [dev, k] : shots_of(t, index, shots, seed)) {
    const McExample& s = dev ? t.mc_dev[k] : t.mc_test[k];
    out += s.context + s.choices[static_cast<size_t>(s.gold)] + "\n\n";
  }
  return out + t.mc_test[index].context;
}

std::vector<ChatMessage> gen_messages(const Task& t, size_t index, int shots, uint64_t seed) {
  std::vector<ChatMessage> m;
  for (auto [dev, k] : shots_of(t, index, shots, seed)) {
    const GenExample& s = dev ? t.gen_dev[k] : t.gen_test[k];
    m.push_back({"user", s.prompt});
    m.push_back({"assistant", s.answer});
  }
  m.push_back({"user", t.gen_test[index].prompt});
  return m;
}

std::string gen_raw_prompt(const Task& t, size_t index, int shots, uint64_t seed) {
  std::string out;
  for (auto [dev, k] : shots_of(t, index, shots, seed)) {
    const GenExample& s = dev ? t.gen_dev[k] : t.gen_test[k];
    out += "Q: " + s.prompt + "\nA: " + s.answer + "\n\n";
  }
  return out + "Q: " + t.gen_test[index].prompt + "\nA:";
}

}  // namespace baimo::eval
