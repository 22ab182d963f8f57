// Teacher cache: a distillation teacher's top-k next-token log-probabilities, and the probability of all
// its other tokens, at every counted target position of a run's training examples, on disk, so that a
// multi-epoch run (or another student) runs the teacher once (objectives/distill.h reads it for
// autograd/topk_distill_loss.h; teacher_cache_build.h writes it).
// File (little-endian):
//   0   8  magic "BMTOPKC\0"
//   8   4  u32 version (1)
//   12  4  u32 n = bytes of the JSON header
//   16  8  u64 checksum: Hash64 (util/hash.h) of every byte from offset 24 to the end of the file
//   24  n  JSON header: {"format": "baimo-teacher-topk", "version": 1, "top_k": k, "vocab_size": V,
//          "temperature": T, "loss": "forward KL over the teacher's top-k and one bucket for the rest",
//          "teacher": path, "teacher_fingerprint": "16 hex", "data_fingerprint": "16 hex",
//          "examples": E, "positions": P}
//   ...    zero padding to a multiple of 64 bytes
//   u64 offsets[E + 1]: the first record of each example, offsets[E] = P
//   P records of 8k + 4 bytes: k i32 token ids (most likely first, ties to the lower id), their k f32
//          log-probabilities log softmax(z_t / T), then one f32: the probability of every other token
//          (summed in double from the full distribution, not 1 - the k). At the distillation temperature
//          T: the rest's mass at another T cannot be recovered from k tokens, so a cache serves one T.
// Key: record offsets[e] + j is example e's j-th counted target position (the positions t whose next
// token ids[t + 1] is an answer token, in order): the examples are the run's training examples in their
// order, which no epoch shuffle or packing changes, so every epoch and a resume read the same records.
// open() maps the file read-only and refuses (baimo::Error naming the file and the field) a short or
// corrupt file (magic, version, sizes, checksum, offsets, ids outside [0, V), non-finite log-probs, a rest
// outside [0, 1]) and a stale one: another teacher (fingerprint), other data (fingerprint, example or
// position counts), another k, temperature or vocabulary than `expect`. Written atomically (temp file, fsync, rename: util/file_io.h), so a kill
// while writing leaves no file at the path.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "baimo/util/file_io.h"

namespace baimo::train {

struct TeacherCacheMeta {
  std::string teacher;                       // the teacher's path (informational)
  uint64_t teacher_fingerprint = 0, data_fingerprint = 0;
  int64_t top_k = 0, vocab_size = 0;
  float temperature = 1;
  std::vector<uint64_t> offsets;             // E + 1: the first record of each example, then P
  uint64_t positions() const { return offsets.empty() ? 0 : offsets.back(); }
};

// Receives records in order: ids I32 (n, k), logprobs F32 (n, k), rest F32 (n), row-major.
using TeacherCacheSink = std::function<void(const int32_t* ids, const float* logprobs, const float* rest, int64_t n)>;

// Writes `path` atomically: the header of `meta`, then the records `produce` passes to the sink (exactly
// meta.positions() of them, else a baimo::Error and no file).
void write_teacher_cache(const std::string& path, const TeacherCacheMeta& meta,
                         const std::function<void(const TeacherCacheSink&)>& produce);

class TeacherCache {
 public:
  static TeacherCache open(const std::string& path, const TeacherCacheMeta& expect);

  const TeacherCacheMeta& meta() const { return meta_; }
  int64_t top_k() const { return meta_.top_k; }
  uint64_t positions() const { return meta_.positions(); }
  uint64_t file_bytes() const { return file_.size(); }
  const std::string& path() const { return file_.path(); }
  // Record `r` (< positions()): k ids, k log-probabilities, the rest's probability.
  const int32_t* ids(uint64_t r) const { return reinterpret_cast<const int32_t*>(records_ + r * record_bytes()); }
  const float* logprobs(uint64_t r) const {
    return reinterpret_cast<const float*>(records_ + r * record_bytes() + 4 * meta_.top_k);
  }
  float rest(uint64_t r) const {
    float x;
    std::memcpy(&x, records_ + r * record_bytes() + 8 * meta_.top_k, 4);
    return x;
  }

 private:
  TeacherCache(MappedFile f) : file_(std::move(f)) {}
  uint64_t record_bytes() const { return 8 * static_cast<uint64_t>(meta_.top_k) + 4; }
  MappedFile file_;
  TeacherCacheMeta meta_;
  const uint8_t* records_ = nullptr;
};

}  // namespace baimo::train
