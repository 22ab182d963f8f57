// Token shards: the on-disk form of a tokenized corpus, read by training through mmap.
// A dataset directory holds, per split ("train", "val"):
//   <split>_00000.bin, <split>_00001.bin, ...   little-endian uint16 (vocab <= 65536) or uint32 ids
//   index.json  {"format": "baimo-shards-v1", "dtype": "uint16"|"uint32", "vocab_size": V,
//                "eot_id": E, "splits": {"train": {"tokens": N, "documents": D,
//                "shards": [{"file": "...", "tokens": n}, ...]}, ...}}
// Documents are concatenated, each followed by the end-of-text id. Writers are deterministic
// (same input => byte-identical files) and atomic (temp + fsync + rename, index.json last).
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "baimo/util/file_io.h"

namespace baimo {

struct ShardSplitInfo {
  uint64_t tokens = 0, documents = 0;
  std::vector<std::pair<std::string, uint64_t>> shards;  // file name, tokens
};

struct ShardIndex {
  bool uint16 = true;
  int64_t vocab_size = 0;
  int32_t eot_id = 0;
  std::map<std::string, ShardSplitInfo> splits;
  static ShardIndex load(const std::string& dir);  // throws baimo::Error naming index.json and the field
  void save(const std::string& dir) const;
};

// Appends documents to one split, cutting a new shard file every `shard_tokens` tokens.
class ShardWriter {
 public:
  ShardWriter(std::string dir, std::string split, ShardIndex& index, uint64_t shard_tokens = 100'000'000);
  void add_document(std::span<const int32_t> ids);  // appends ids + eot
  void finish();                                    // flushes the last shard into index.splits[split]

 private:
  void flush();
  std::string dir_, split_;
  ShardIndex& index_;
  uint64_t shard_tokens_;
  std::vector<uint8_t> buf_;
  uint64_t buf_tokens_ = 0;
  ShardSplitInfo info_;
};

// Read-only view of one split: all shards mmap'd, addressed as one sequence of tokens.
class TokenDataset {
 public:
  TokenDataset(const std::string& dir, const std::string& split);
  uint64_t size() const { return total_; }
  int64_t vocab_size() const { return index_.vocab_size; }
  int32_t eot_id() const { return index_.eot_id; }
  // Copies tokens [start, start + out.size()) into out (may span shards).
  void read(uint64_t start, std::span<int32_t> out) const;

 private:
  ShardIndex index_;
  std::vector<MappedFile> files_;
  std::vector<uint64_t> starts_;  // first global token of each shard
  uint64_t total_ = 0;
};

// Deterministic batches of windows of seq+1 tokens (inputs + shifted targets).
// Window k of the stream starts at a position drawn from (seed, k) alone, so the sampler's
// whole state is `position` (windows drawn so far): saving and restoring it resumes exactly.
class WindowSampler {
 public:
  WindowSampler(const TokenDataset& data, int64_t seq, uint64_t seed, uint64_t position = 0);
  // tokens: (B, seq+1) row-major, filled with the next B windows.
  void next_batch(int64_t batch, std::span<int32_t> tokens);
  uint64_t position() const { return position_; }
  void set_position(uint64_t p) { position_ = p; }

 private:
  const TokenDataset& data_;
  int64_t seq_;
  uint64_t seed_, position_;
};

}  // namespace baimo
