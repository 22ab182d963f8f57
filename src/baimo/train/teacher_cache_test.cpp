// The teacher cache (teacher_cache.h, teacher_cache_build.h): built with a random micro teacher over byte
// conversations, reopened, its records equal the teacher's top-k computed directly from each example's
// own logits at the cache's temperature (with the rest's probability); stale caches (another teacher, other
// data, another k or temperature, another number of examples) and
// corrupt ones (truncated, a flipped byte, bad magic, an id outside the vocabulary under a valid checksum)
// are refused naming the file and the mismatch; a writer that produces too few records leaves no file;
// the teacher's fingerprint follows the weight files' bytes, not their directory.
#include "baimo/train/teacher_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "baimo/autograd/tape.h"
#include "baimo/train/objectives/rl_test_util.h"
#include "baimo/train/teacher_cache_build.h"
#include "baimo/util/error.h"
#include "baimo/util/hash.h"
#include "baimo/util/temp_dir.h"

namespace baimo::train {
namespace teacher_cache_test {

namespace fs = std::filesystem;

// Byte conversations: a prompt of 2..5 bytes, an answer of 2..7 bytes (mask 1).
std::vector<SftExample> conversations(size_t n, uint64_t seed) {
  std::vector<SftExample> out;
  const auto prompts = rl_testing::prompts(n, seed);
  for (size_t i = 0; i < n; ++i) {
    SftExample e{prompts[i], std::vector<uint8_t>(prompts[i].size(), 0), i};
    for (size_t a = 0; a < 2 + (i * 7 + seed) % 6; ++a) {
      e.ids.push_back(static_cast<int32_t>('a' + (i + a) % 26));
      e.mask.push_back(1);
    }
    out.push_back(std::move(e));
  }
  return out;
}

TeacherCacheMeta meta_for(std::span<const SftExample> ex, int64_t k, uint64_t teacher_fp = 11, float temperature = 2) {
  TeacherCacheMeta m;
  m.temperature = temperature;
  m.teacher = "micro-teacher";
  m.teacher_fingerprint = teacher_fp;
  m.data_fingerprint = sft_data_fingerprint(ex);
  m.top_k = k;
  m.vocab_size = rl_testing::byte_config().vocab_size;
  m.offsets = teacher_cache_offsets(ex);
  return m;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string bytes_of(const std::string& path) { return read_file(path); }

struct Built {
  TempDir dir{"baimo_teacher_cache_test_"};
  Transformer teacher = Transformer::random(rl_testing::byte_config(), 2);
  std::vector<SftExample> ex = conversations(12, 5);
  std::string path = (dir.dir / "teacher.topk").string();
  TeacherCacheMeta meta = meta_for(ex, 5);
  Built() { build_teacher_cache(path, teacher, ex, meta, 32, 2); }  // 2 rows a batch: several batches
};

TEST(TeacherCache, RoundTripHoldsTheTeachersTopKOfEveryAnswerPosition) {
  Built b;
  const TeacherCache c = TeacherCache::open(b.path, b.meta);
  ASSERT_EQ(c.top_k(), 5);
  uint64_t expected_positions = 0;
  for (const SftExample& e : b.ex) expected_positions += std::count(e.mask.begin() + 1, e.mask.end(), 1);
  EXPECT_EQ(c.positions(), expected_positions);
  const int64_t V = rl_testing::byte_config().vocab_size;
  uint64_t rec = 0;
  for (size_t e = 0; e < b.ex.size(); ++e) {
    const SftExample& x = b.ex[e];
    const int64_t L = static_cast<int64_t>(x.ids.size());
    ag::NoGradGuard no_grad;
    const Tensor logits = b.teacher.logits(Tensor::from_ids({1, L}, x.ids)).value();  // the example alone
    ASSERT_EQ(c.meta().offsets[e], rec);
    for (int64_t t = 0; t + 1 < L; ++t) {
      if (!x.mask[static_cast<size_t>(t + 1)]) continue;
      const float* z = logits.data<float>() + t * V;
      std::vector<int32_t> order(static_cast<size_t>(V));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t c2) { return z[a] > z[c2]; });
      double m = -1e300, acc = 0;  // of z / T, T = 2
      for (int64_t v = 0; v < V; ++v) m = std::max(m, z[v] / 2.0);
      for (int64_t v = 0; v < V; ++v) acc += std::exp(z[v] / 2.0 - m);
      double rest = 0;
      for (int64_t i = 0; i < V; ++i) {
        const int32_t want = order[static_cast<size_t>(i)];
        const double lp = z[want] / 2.0 - m - std::log(acc);
        if (i >= 5) {
          rest += std::exp(lp);
          continue;
        }
        EXPECT_EQ(c.ids(rec)[i], want) << "example " << e << " position " << t << " rank " << i;
        EXPECT_NEAR(c.logprobs(rec)[i], lp, 2e-5) << "example " << e << " position " << t;
      }
      EXPECT_NEAR(c.rest(rec), rest, 2e-5) << "example " << e << " position " << t;
      EXPECT_GT(c.rest(rec), 0.5f);  // a random teacher spreads its mass: most of it beyond the top 5
      ++rec;
    }
    ag::reset_step();
  }
  EXPECT_EQ(rec, c.positions());
  // teacher_topk itself: largest first, ties to the lower id, log softmax(z / T), the rest's probability.
  const std::vector<float> z{0.5f, 2.f, -1.f, 2.f, 1.f};
  int32_t ids[5];  // room for k = 5 below
  float lp[5], rest;
  for (float T : {1.f, 3.f}) {
    teacher_topk(z.data(), 5, 3, T, ids, lp, &rest);
    EXPECT_EQ(std::vector<int32_t>(ids, ids + 3), (std::vector<int32_t>{1, 3, 4}));
    double s = 0;
    for (float x : z) s += std::exp(double(x) / T);
    EXPECT_NEAR(lp[0], 2.0 / T - std::log(s), 1e-6);
    EXPECT_NEAR(lp[2], 1.0 / T - std::log(s), 1e-6);
    EXPECT_NEAR(rest, (std::exp(0.5 / T) + std::exp(-1.0 / T)) / s, 1e-6);
  }
  teacher_topk(z.data(), 5, 5, 1.f, ids, lp, &rest);
  EXPECT_EQ(rest, 0.f);
}

TEST(TeacherCache, StaleCachesAreRefusedNamingTheMismatch) {
  Built b;
  auto refused = [&](const TeacherCacheMeta& m) { return error_of([&] { TeacherCache::open(b.path, m); }); };
  std::string e = refused(meta_for(b.ex, 5, 12));
  EXPECT_NE(e.find(b.path + ": stale teacher cache: built from teacher micro-teacher (fingerprint 000000000000000b)"),
            std::string::npos) << e;
  e = refused(meta_for(b.ex, 6));
  EXPECT_NE(e.find("top-k 5, this run asks for --teacher-top-k 6"), std::string::npos) << e;
  e = refused(meta_for(b.ex, 5, 11, 1.5f));
  EXPECT_NE(e.find("temperature 2, this run's --temperature is 1.5"), std::string::npos) << e;
  std::vector<SftExample> other = b.ex;
  other[3].ids[1] ^= 1;  // same lengths and masks, another token: only the fingerprint differs
  e = refused(meta_for(other, 5));
  EXPECT_NE(e.find("data fingerprint"), std::string::npos) << e;
  other.pop_back();
  e = refused(meta_for(other, 5));
  EXPECT_NE(e.find("12 training examples with"), std::string::npos) << e;
  EXPECT_NE(e.find("this run's data has 11"), std::string::npos) << e;
  TeacherCacheMeta vocab = b.meta;
  vocab.vocab_size = 300;
  e = refused(vocab);
  EXPECT_NE(e.find("vocabulary of 257 tokens, this run's is 300"), std::string::npos) << e;
  EXPECT_NO_THROW(TeacherCache::open(b.path, b.meta));
}

TEST(TeacherCache, CorruptOrTruncatedFilesAreRefused) {
  Built b;
  const std::string good = bytes_of(b.path);
  auto open_bytes = [&](const std::string& bytes) {
    const std::string p = b.dir.file("bad.topk", bytes);
    return error_of([&] { TeacherCache::open(p, b.meta); });
  };
  std::string e = open_bytes(good.substr(0, good.size() - 8));
  EXPECT_NE(e.find("bad.topk: corrupt or truncated"), std::string::npos) << e;
  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 0x10;
  e = open_bytes(flipped);
  EXPECT_NE(e.find("corrupt or truncated"), std::string::npos) << e;
  e = open_bytes("BMTOPKX" + good.substr(7));
  EXPECT_NE(e.find("not a baimo teacher cache"), std::string::npos) << e;
  e = open_bytes(good.substr(0, 10));
  EXPECT_NE(e.find("not a baimo teacher cache"), std::string::npos) << e;
  // A valid checksum over an id outside the vocabulary: the structure checks still refuse it.
  std::string bad_id = good;
  const int32_t far = 400;
  const size_t last_record = good.size() - (8 * 5 + 4);
  std::memcpy(bad_id.data() + last_record, &far, 4);
  Hash64 h;
  h.update(bad_id.data() + 24, bad_id.size() - 24);
  const uint64_t sum = h.digest();
  std::memcpy(bad_id.data() + 16, &sum, 8);
  e = open_bytes(bad_id);
  EXPECT_NE(e.find("holds token id 400, outside [0, 257)"), std::string::npos) << e;
}

TEST(TeacherCache, AWriterThatFallsShortLeavesNoFile) {
  TempDir dir("baimo_teacher_cache_short_");
  const std::vector<SftExample> ex = conversations(3, 2);
  const TeacherCacheMeta m = meta_for(ex, 2);
  const std::string path = (dir.dir / "short.topk").string();
  const std::vector<int32_t> ids{1, 2};
  const std::vector<float> lps{-0.1f, -2.f}, rest{0.f};
  const std::string e = error_of([&] {
    write_teacher_cache(path, m, [&](const TeacherCacheSink& sink) { sink(ids.data(), lps.data(), rest.data(), 1); });
  });
  EXPECT_NE(e.find("1 positions produced, the header promises"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(path));
  for (const auto& f : fs::directory_iterator(dir.dir)) ADD_FAILURE() << "left behind: " << f.path();
}

TEST(TeacherCache, TheTeachersFingerprintFollowsItsWeightFiles) {
  TempDir a("baimo_teacher_fp_a_"), b("baimo_teacher_fp_b_");
  for (const TempDir* d : {&a, &b}) {
    d->file("config.json", "{\"vocab_size\": 257}");
    d->file("model.safetensors", std::string(1000, 'w'));
  }
  b.file("README.md", "not a weight file");
  const uint64_t fa = teacher_fingerprint(a.dir.string());
  EXPECT_EQ(fa, teacher_fingerprint(b.dir.string()));
  b.file("model.safetensors", std::string(999, 'w') + "x");
  EXPECT_NE(fa, teacher_fingerprint(b.dir.string()));
  const std::string gguf = a.file("t.gguf", "GGUF....");
  EXPECT_NE(teacher_fingerprint(gguf), fa);
  TempDir empty("baimo_teacher_fp_empty_");
  const std::string e = error_of([&] { teacher_fingerprint(empty.dir.string()); });
  EXPECT_NE(e.find("no config.json, model*.safetensors or *.gguf"), std::string::npos) << e;
}

}  // namespace teacher_cache_test
}  // namespace baimo::train
