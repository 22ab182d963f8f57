#include "baimo/train/teacher_cache_build.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "baimo/autograd/tape.h"
#include "baimo/kernels/backend.h"
#include "baimo/train/objectives/distill.h"
#include "baimo/util/error.h"
#include "baimo/util/hash.h"
#include "baimo/util/progress.h"

namespace baimo::train {

namespace {

namespace fs = std::filesystem;

constexpr int64_t kTopkChunkFloats = int64_t{1} << 22;  // teacher logits per head chunk (~16 MB)

// Whether a model directory's file holds what the teacher's weights are read from.
bool fingerprinted_file(const fs::path& p) {
  const std::string name = p.filename().string(), ext = p.extension().string();
  return name == "config.json" || ext == ".gguf" || (ext == ".safetensors" && name.rfind("model", 0) == 0);
}

// One batch of the build: examples [first, last) packed next-fit into rows of seq tokens.
struct CacheBatch {
  std::vector<int32_t> ids, positions, segments;  // rows * seq
  std::vector<int64_t> counted;                   // the hidden row of each counted position, in example order
  std::vector<std::pair<size_t, int64_t>> where;  // (example, t) of each counted position, for errors
  size_t last = 0;
  int64_t rows = 0;
};

CacheBatch pack_cache_batch(std::span<const SftExample> ex, size_t first, int64_t seq, int64_t max_rows) {
  CacheBatch b;
  int64_t at = seq;  // column in the current row (a full row: start a new one)
  int32_t segment = 0;
  size_t e = first;
  for (; e < ex.size(); ++e) {
    const int64_t len = static_cast<int64_t>(ex[e].ids.size());
    if (len > seq) fail("teacher cache: training example {} has {} tokens, more than max_len {}", e, len, seq);
    if (at + len > seq) {
      if (b.rows == max_rows) break;
      b.rows++;
      b.ids.resize(static_cast<size_t>(b.rows * seq), 0);
      b.segments.resize(b.ids.size(), 0);
      b.positions.resize(b.ids.size(), 0);
      at = 0;
      segment = 0;
    }
    const int64_t base = (b.rows - 1) * seq + at;
    for (int64_t t = 0; t < len; ++t) {
      b.ids[static_cast<size_t>(base + t)] = ex[e].ids[static_cast<size_t>(t)];
      b.positions[static_cast<size_t>(base + t)] = static_cast<int32_t>(t);
      b.segments[static_cast<size_t>(base + t)] = segment;
      if (t + 1 < len && ex[e].mask[static_cast<size_t>(t + 1)]) {
        b.counted.push_back(base + t);
        b.where.emplace_back(e, t);
      }
    }
    at += len;
    ++segment;
    // the rest of a row stays one segment of padding after the last example (its own segment index)
    for (int64_t t = at; t < seq; ++t) {
      b.segments[static_cast<size_t>((b.rows - 1) * seq + t)] = segment;
      b.positions[static_cast<size_t>((b.rows - 1) * seq + t)] = static_cast<int32_t>(t - at);
    }
  }
  b.last = e;
  return b;
}

}  // namespace

void teacher_topk(const float* z, int64_t V, int64_t k, float temperature, int32_t* ids, float* logprobs,
                  float* rest) {
  const double inv = 1.0 / temperature;
  float m = -INFINITY;
  for (int64_t v = 0; v < V; ++v) m = std::max(m, z[v]);
  double acc = 0;
  for (int64_t v = 0; v < V; ++v) acc += std::exp((static_cast<double>(z[v]) - m) * inv);
  const double lse = m * inv + std::log(acc);  // of z / T
  using Entry = std::pair<float, int32_t>;
  const auto better = [](const Entry& a, const Entry& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  std::vector<Entry> heap;  // the best k so far; under `better`, the front is the worst of them
  heap.reserve(static_cast<size_t>(k));
  for (int64_t v = 0; v < V; ++v) {
    const Entry c{z[v], static_cast<int32_t>(v)};
    if (static_cast<int64_t>(heap.size()) < k) {
      heap.push_back(c);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(c, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = c;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), better);  // best first
  std::vector<int32_t> in_k(static_cast<size_t>(k));
  for (size_t i = 0; i < heap.size(); ++i) {
    ids[i] = in_k[i] = heap[i].second;
    logprobs[i] = static_cast<float>(heap[i].first * inv - lse);
  }
  std::sort(in_k.begin(), in_k.end());
  double other = 0;
  for (int64_t v = 0, j = 0; v < V; ++v) {
    if (j < k && in_k[static_cast<size_t>(j)] == v) {
      ++j;
      continue;
    }
    other += std::exp(z[v] * inv - lse);
  }
  *rest = static_cast<float>(std::min(other, 1.0));
}

uint64_t teacher_fingerprint(const std::string& path) {
  std::vector<fs::path> files;
  if (fs::is_directory(path)) {
    for (const auto& entry : fs::directory_iterator(path))
      if (entry.is_regular_file() && fingerprinted_file(entry.path())) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  if (files.empty()) fail("{}: no config.json, model*.safetensors or *.gguf to fingerprint the teacher by", path);
  Hash64 h(0x7465616368ull);
  for (const fs::path& f : files) {
    const MappedFile m(f.string());
    const std::string name = f.filename().string();
    const uint64_t size = m.size();
    h.update(name);
    h.update(&size, sizeof size);
    h.update(m.data(), m.size());
  }
  return h.digest();
}

uint64_t sft_data_fingerprint(std::span<const SftExample> examples) {
  Hash64 h(0x73667464617461ull);
  const uint64_t n = examples.size();
  h.update(&n, sizeof n);
  for (const SftExample& e : examples) {
    const uint64_t len = e.ids.size();
    h.update(&len, sizeof len);
    h.update(e.ids.data(), e.ids.size() * sizeof(int32_t));
    h.update(e.mask.data(), e.mask.size());
  }
  return h.digest();
}

std::vector<uint64_t> teacher_cache_offsets(std::span<const SftExample> examples) {
  std::vector<uint64_t> off{0};
  off.reserve(examples.size() + 1);
  for (const SftExample& e : examples) {
    uint64_t n = 0;
    for (size_t t = 0; t + 1 < e.ids.size(); ++t) n += e.mask[t + 1] != 0;
    off.push_back(off.back() + n);
  }
  return off;
}

TeacherCacheMeta teacher_cache_meta(const std::string& teacher_path, std::span<const SftExample> examples,
                                    int64_t top_k, float temperature, int64_t vocab_size) {
  TeacherCacheMeta m;
  m.teacher = teacher_path;
  m.teacher_fingerprint = teacher_fingerprint(teacher_path);
  m.data_fingerprint = sft_data_fingerprint(examples);
  m.top_k = top_k;
  m.temperature = temperature;
  m.vocab_size = vocab_size;
  m.offsets = teacher_cache_offsets(examples);
  return m;
}

void build_teacher_cache(const std::string& path, const Transformer& teacher, std::span<const SftExample> examples,
                         const TeacherCacheMeta& meta, int64_t seq, int64_t rows) {
  const WeightMatrix head = teacher_head(teacher);
  const int64_t V = head.rows, Ct = head.cols, k = meta.top_k;
  if (V != meta.vocab_size) fail("teacher cache {}: the teacher's vocabulary has {} tokens, the student's {}", path, V, meta.vocab_size);
  if (seq < 1 || rows < 1) fail("teacher cache {}: rows of {} x {} tokens", path, rows, seq);
  const int64_t chunk = std::max<int64_t>(1, kTopkChunkFloats / V);
  Progress progress("teacher cache", meta.positions(), "positions");
  write_teacher_cache(path, meta, [&](const TeacherCacheSink& sink) {
    std::vector<float> hb, z(static_cast<size_t>(chunk * V)), lp(static_cast<size_t>(chunk * k)),
        rest(static_cast<size_t>(chunk));
    std::vector<int32_t> ids(static_cast<size_t>(chunk * k));
    for (size_t first = 0; first < examples.size();) {
      const CacheBatch b = pack_cache_batch(examples, first, seq, rows);
      first = b.last;
      if (b.counted.empty()) continue;
      const Shape shape{b.rows, seq};
      Tensor in = Tensor::from_ids(shape, b.ids), pos = Tensor::from_ids(shape, b.positions),
             seg = Tensor::from_ids(shape, b.segments);
      Tensor th;
      {
        ag::NoGradGuard no_grad;
        th = teacher.hidden(in, &pos, &seg).value();
      }
      const float* hs = th.data<float>();
      const int64_t n = static_cast<int64_t>(b.counted.size());
      for (int64_t c0 = 0; c0 < n; c0 += chunk) {
        const int64_t r = std::min(chunk, n - c0);
        hb.resize(static_cast<size_t>(r * Ct));
        for (int64_t i = 0; i < r; ++i)
          std::copy_n(hs + b.counted[static_cast<size_t>(c0 + i)] * Ct, Ct, hb.data() + i * Ct);
        if (head.type == DType::Q8_0 || head.type == DType::Q4_0)
          backend().weight_matmul(head, hb.data(), r, z.data());
        else
          backend().weight_matmul_f32(head, hb.data(), r, z.data());
        for (int64_t i = 0; i < r; ++i)
          for (int64_t v = 0; v < V; ++v)
            if (!std::isfinite(z[static_cast<size_t>(i * V + v)])) {
              const auto [e, t] = b.where[static_cast<size_t>(c0 + i)];
              fail("teacher cache {}: the teacher's logit of token {} is {} at training example {}, position {}", path,
                   v, z[static_cast<size_t>(i * V + v)], e, t);
            }
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < r; ++i)
          teacher_topk(z.data() + i * V, V, k, meta.temperature, ids.data() + i * k, lp.data() + i * k, rest.data() + i);
        sink(ids.data(), lp.data(), rest.data(), r);
        progress.add(static_cast<uint64_t>(r));
      }
      ag::reset_step();
    }
  });
  progress.finish();
}

}  // namespace baimo::train
