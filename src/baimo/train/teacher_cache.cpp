#include "baimo/train/teacher_cache.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "baimo/util/error.h"
#include "baimo/util/hash.h"

namespace baimo::train {

namespace {

using json = nlohmann::json;

constexpr char kCacheMagic[8] = {'B', 'M', 'T', 'O', 'P', 'K', 'C', '\0'};
constexpr uint32_t kCacheVersion = 1;
constexpr size_t kCachePreamble = 24;  // magic, version, header bytes, checksum
constexpr size_t kCacheAlign = 64;

std::string cache_hex(uint64_t x) { return fmt::format("{:016x}", x); }

size_t cache_aligned(size_t n) { return (n + kCacheAlign - 1) / kCacheAlign * kCacheAlign; }

std::string cache_header_json(const TeacherCacheMeta& m) {
  const json j = {{"format", "baimo-teacher-topk"},
                  {"version", kCacheVersion},
                  {"top_k", m.top_k},
                  {"vocab_size", m.vocab_size},
                  {"temperature", m.temperature},
                  {"loss", "forward KL over the teacher's top-k and one bucket for the rest"},
                  {"teacher", m.teacher},
                  {"teacher_fingerprint", cache_hex(m.teacher_fingerprint)},
                  {"data_fingerprint", cache_hex(m.data_fingerprint)},
                  {"examples", m.offsets.size() - 1},
                  {"positions", m.positions()}};
  return j.dump();
}

// Writes through to f and into the running checksum.
struct HashedFile {
  std::FILE* f;
  const std::string& path;
  Hash64 hash;
  void put(const void* p, size_t n) {
    if (n > 0 && std::fwrite(p, 1, n, f) != n) fail("cannot write {}: {}", path, std::strerror(errno));
    hash.update(p, n);
  }
};

uint64_t cache_parse_hex(const json& j, const char* key, const std::string& path) {
  const json& v = j.at(key);
  if (!v.is_string() || v.get<std::string>().size() != 16) fail("{}: header field \"{}\" is not 16 hex digits", path, key);
  const std::string s = v.get<std::string>();
  uint64_t x = 0;
  for (char c : s) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) fail("{}: header field \"{}\" is not 16 hex digits", path, key);
    x = x << 4 | static_cast<uint64_t>(d);
  }
  return x;
}

int64_t cache_header_int(const json& j, const char* key, const std::string& path) {
  if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 0)
    fail("{}: header field \"{}\" missing or not a non-negative integer", path, key);
  return j[key].get<int64_t>();
}

// The file's own structure (magic through the records' values); fills meta and returns the records.
const uint8_t* read_structure(const MappedFile& f, TeacherCacheMeta& m) {
  const std::string& path = f.path();
  const uint8_t* d = f.data();
  const size_t size = f.size();
  if (size < kCachePreamble || std::memcmp(d, kCacheMagic, 8) != 0)
    fail("{}: not a baimo teacher cache (bad magic or shorter than its preamble)", path);
  uint32_t version, n;
  uint64_t checksum;
  std::memcpy(&version, d + 8, 4);
  std::memcpy(&n, d + 12, 4);
  std::memcpy(&checksum, d + 16, 8);
  if (version != kCacheVersion) fail("{}: teacher cache version {}, this baimo reads version {}", path, version, kCacheVersion);
  if (n > size - kCachePreamble) fail("{}: truncated (header of {} bytes in a file of {})", path, n, size);
  Hash64 h;
  h.update(d + kCachePreamble, size - kCachePreamble);
  if (h.digest() != checksum)
    fail("{}: corrupt or truncated (checksum {} in the file, {} computed): delete it to rebuild", path, cache_hex(checksum),
         cache_hex(h.digest()));
  json j;
  try {
    j = json::parse(std::string_view(reinterpret_cast<const char*>(d + kCachePreamble), n));
  } catch (const json::exception& e) {
    fail("{}: header is not valid JSON: {}", path, e.what());
  }
  if (!j.is_object() || !j.contains("format") || j["format"] != "baimo-teacher-topk")
    fail("{}: header field \"format\" is not \"baimo-teacher-topk\"", path);
  m.top_k = cache_header_int(j, "top_k", path);
  m.vocab_size = cache_header_int(j, "vocab_size", path);
  if (m.top_k < 1 || m.top_k > m.vocab_size) fail("{}: header field \"top_k\" {} is not within [1, vocab_size {}]", path, m.top_k, m.vocab_size);
  if (!j.contains("temperature") || !j["temperature"].is_number() || !(j["temperature"].get<double>() > 0))
    fail("{}: header field \"temperature\" missing or not > 0", path);
  m.temperature = j["temperature"].get<float>();
  if (!j.contains("teacher") || !j["teacher"].is_string()) fail("{}: header field \"teacher\" missing", path);
  m.teacher = j["teacher"].get<std::string>();
  if (!j.contains("teacher_fingerprint") || !j.contains("data_fingerprint"))
    fail("{}: header fields \"teacher_fingerprint\" / \"data_fingerprint\" missing", path);
  m.teacher_fingerprint = cache_parse_hex(j, "teacher_fingerprint", path);
  m.data_fingerprint = cache_parse_hex(j, "data_fingerprint", path);
  const uint64_t examples = static_cast<uint64_t>(cache_header_int(j, "examples", path));
  const uint64_t positions = static_cast<uint64_t>(cache_header_int(j, "positions", path));
  const size_t off_at = cache_aligned(kCachePreamble + n);
  const uint64_t rec = 8 * static_cast<uint64_t>(m.top_k) + 4;
  if (examples > (size - std::min(size, off_at)) / 8 || positions > size / rec)
    fail("{}: truncated (the header promises {} examples and {} positions)", path, examples, positions);
  const uint64_t want = off_at + 8 * (examples + 1) + positions * rec;
  if (size != want) fail("{}: {} bytes, the header's {} examples and {} positions of top-k {} need {}: truncated or corrupt", path, size, examples, positions, m.top_k, want);
  m.offsets.resize(examples + 1);
  std::memcpy(m.offsets.data(), d + off_at, 8 * (examples + 1));
  for (size_t e = 0; e < examples; ++e)
    if (m.offsets[e] > m.offsets[e + 1]) fail("{}: offsets decrease at example {}", path, e);
  if (m.offsets[0] != 0 || m.offsets[examples] != positions) fail("{}: offsets do not span the {} positions", path, positions);
  const uint8_t* records = d + off_at + 8 * (examples + 1);
  for (uint64_t r = 0; r < positions; ++r) {
    const uint8_t* p = records + r * rec;
    for (int64_t i = 0; i < m.top_k; ++i) {
      int32_t id;
      float lp;
      std::memcpy(&id, p + 4 * i, 4);
      std::memcpy(&lp, p + 4 * (m.top_k + i), 4);
      if (id < 0 || id >= m.vocab_size) fail("{}: record {} holds token id {}, outside [0, {})", path, r, id, m.vocab_size);
      if (!std::isfinite(lp)) fail("{}: record {} holds a non-finite log-probability", path, r);
    }
    float rest;
    std::memcpy(&rest, p + 8 * m.top_k, 4);
    if (!(rest >= 0 && rest <= 1)) fail("{}: record {} holds a rest probability of {}", path, r, rest);
  }
  return records;
}

}  // namespace

void write_teacher_cache(const std::string& path, const TeacherCacheMeta& meta,
                         const std::function<void(const TeacherCacheSink&)>& produce) {
  if (meta.offsets.empty() || meta.top_k < 1 || meta.top_k > meta.vocab_size || !(meta.temperature > 0))
    fail("{}: teacher cache of top-k {} over {} tokens and {} examples: nothing sensible to write", path, meta.top_k,
         meta.vocab_size, meta.offsets.empty() ? 0 : meta.offsets.size() - 1);
  const std::string header = cache_header_json(meta);
  write_file_atomic(path, [&](std::FILE* f) {
    HashedFile out{f, path, Hash64{}};
    const uint32_t version = kCacheVersion, n = static_cast<uint32_t>(header.size());
    const uint64_t checksum_placeholder = 0;
    if (std::fwrite(kCacheMagic, 1, 8, f) != 8 || std::fwrite(&version, 4, 1, f) != 1 || std::fwrite(&n, 4, 1, f) != 1 ||
        std::fwrite(&checksum_placeholder, 8, 1, f) != 1)
      fail("cannot write {}: {}", path, std::strerror(errno));
    out.put(header.data(), header.size());
    const std::vector<uint8_t> pad(cache_aligned(kCachePreamble + header.size()) - kCachePreamble - header.size(), 0);
    out.put(pad.data(), pad.size());
    out.put(meta.offsets.data(), 8 * meta.offsets.size());
    const int64_t k = meta.top_k;
    uint64_t written = 0;
    produce([&](const int32_t* ids, const float* lps, const float* rest, int64_t rows) {
      if (written + static_cast<uint64_t>(rows) > meta.positions())
        fail("{}: more than the {} positions of the header were produced", path, meta.positions());
      for (int64_t r = 0; r < rows; ++r) {
        out.put(ids + r * k, 4 * static_cast<size_t>(k));
        out.put(lps + r * k, 4 * static_cast<size_t>(k));
        out.put(rest + r, 4);
      }
      written += static_cast<uint64_t>(rows);
    });
    if (written != meta.positions())
      fail("{}: {} positions produced, the header promises {}", path, written, meta.positions());
    const uint64_t checksum = out.hash.digest();
    if (std::fseek(f, 16, SEEK_SET) != 0 || std::fwrite(&checksum, 8, 1, f) != 1)
      fail("cannot write {}: {}", path, std::strerror(errno));
  });
}

TeacherCache TeacherCache::open(const std::string& path, const TeacherCacheMeta& expect) {
  TeacherCache c{MappedFile(path)};
  TeacherCacheMeta& m = c.meta_;
  c.records_ = read_structure(c.file_, m);
  const auto stale = [&](const std::string& what) {
    fail("{}: stale teacher cache: {}; delete it (the next run rebuilds it) or pass another --teacher-cache", path, what);
  };
  if (m.teacher_fingerprint != expect.teacher_fingerprint)
    stale(fmt::format("built from teacher {} (fingerprint {}), this run's teacher is {} (fingerprint {})", m.teacher,
                      cache_hex(m.teacher_fingerprint), expect.teacher, cache_hex(expect.teacher_fingerprint)));
  if (m.vocab_size != expect.vocab_size)
    stale(fmt::format("vocabulary of {} tokens, this run's is {}", m.vocab_size, expect.vocab_size));
  if (m.top_k != expect.top_k) stale(fmt::format("top-k {}, this run asks for --teacher-top-k {}", m.top_k, expect.top_k));
  if (m.temperature != expect.temperature)
    stale(fmt::format("temperature {}, this run's --temperature is {}", m.temperature, expect.temperature));
  if (m.offsets.size() != expect.offsets.size() || m.positions() != expect.positions())
    stale(fmt::format("{} training examples with {} target positions, this run's data has {} with {}",
                      m.offsets.size() - 1, m.positions(), expect.offsets.size() - 1, expect.positions()));
  if (m.data_fingerprint != expect.data_fingerprint || m.offsets != expect.offsets)
    stale(fmt::format("data fingerprint {}, this run's training examples have {} (other data, template, max length, "
                      "held-out split or seed)",
                      cache_hex(m.data_fingerprint), cache_hex(expect.data_fingerprint)));
  return c;
}

}  // namespace baimo::train
