#include "baimo/data/token_shards.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "baimo/util/error.h"
#include "baimo/util/hash.h"
#include "baimo/util/json_file.h"

namespace baimo {

namespace {
using json = nlohmann::json;

template <class T>
T field(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) fail("{}: missing field \"{}\"", where, key);
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    fail("{}: field \"{}\" has the wrong type", where, key);
  }
}
}  // namespace

ShardIndex ShardIndex::load(const std::string& dir) {
  std::string path = (std::filesystem::path(dir) / "index.json").string();
  const json j = read_json_file(path);
  if (field<std::string>(j, "format", path) != "baimo-shards-v1")
    fail("{}: field \"format\" must be \"baimo-shards-v1\"", path);
  ShardIndex ix;
  auto dt = field<std::string>(j, "dtype", path);
  if (dt != "uint16" && dt != "uint32") fail("{}: field \"dtype\" must be uint16 or uint32, got \"{}\"", path, dt);
  ix.uint16 = dt == "uint16";
  ix.vocab_size = field<int64_t>(j, "vocab_size", path);
  ix.eot_id = field<int32_t>(j, "eot_id", path);
  if (ix.vocab_size <= 0 || ix.eot_id < 0 || ix.eot_id >= ix.vocab_size)
    fail("{}: vocab_size {} / eot_id {} out of range", path, ix.vocab_size, ix.eot_id);
  auto splits = field<json>(j, "splits", path);
  if (!splits.is_object()) fail("{}: field \"splits\" must be an object", path);
  for (auto& [name, s] : splits.items()) {
    std::string where = path + ": splits." + name;
    ShardSplitInfo info;
    info.tokens = field<uint64_t>(s, "tokens", where);
    info.documents = field<uint64_t>(s, "documents", where);
    uint64_t sum = 0;
    for (auto& sh : field<json>(s, "shards", where)) {
      auto file = field<std::string>(sh, "file", where);
      if (file.find('/') != std::string::npos || file.starts_with("."))
        fail("{}: shard file name \"{}\" must be a plain name inside the dataset directory", where, file);
      auto n = field<uint64_t>(sh, "tokens", where);
      info.shards.emplace_back(file, n);
      sum += n;
    }
    if (sum != info.tokens) fail("{}: shards hold {} tokens but \"tokens\" says {}", where, sum, info.tokens);
    ix.splits[name] = std::move(info);
  }
  return ix;
}

void ShardIndex::save(const std::string& dir) const {
  json splits = json::object();
  for (auto& [name, s] : this->splits) {
    json shards = json::array();
    for (auto& [f, n] : s.shards) shards.push_back({{"file", f}, {"tokens", n}});
    splits[name] = {{"tokens", s.tokens}, {"documents", s.documents}, {"shards", shards}};
  }
  json j = {{"format", "baimo-shards-v1"}, {"dtype", uint16 ? "uint16" : "uint32"}, {"vocab_size", vocab_size},
            {"eot_id", eot_id}, {"splits", splits}};
  write_file_atomic((std::filesystem::path(dir) / "index.json").string(), j.dump(2) + "\n");
}

ShardWriter::ShardWriter(std::string dir, std::string split, ShardIndex& index, uint64_t shard_tokens)
    : dir_(std::move(dir)), split_(std::move(split)), index_(index), shard_tokens_(shard_tokens) {
  std::filesystem::create_directories(dir_);
}

void ShardWriter::add_document(std::span<const int32_t> ids) {
  const size_t width = index_.uint16 ? 2 : 4;
  auto put = [&](int32_t id) {
    if (id < 0 || id >= index_.vocab_size) fail("token id {} outside the vocabulary (size {})", id, index_.vocab_size);
    uint32_t v = static_cast<uint32_t>(id);
    size_t at = buf_.size();
    buf_.resize(at + width);
    if (width == 2) {
      uint16_t s = static_cast<uint16_t>(v);
      std::memcpy(&buf_[at], &s, 2);
    } else {
      std::memcpy(&buf_[at], &v, 4);
    }
    if (++buf_tokens_ == shard_tokens_) flush();
  };
  for (int32_t id : ids) put(id);
  put(index_.eot_id);
  ++info_.documents;
}

void ShardWriter::flush() {
  if (buf_tokens_ == 0) return;
  std::string name = fmt::format("{}_{:05d}.bin", split_, info_.shards.size());
  write_file_atomic((std::filesystem::path(dir_) / name).string(),
                    std::string_view(reinterpret_cast<const char*>(buf_.data()), buf_.size()));
  info_.shards.emplace_back(name, buf_tokens_);
  info_.tokens += buf_tokens_;
  buf_.clear();
  buf_tokens_ = 0;
}

void ShardWriter::finish() {
  flush();
  index_.splits[split_] = info_;
}

TokenDataset::TokenDataset(const std::string& dir, const std::string& split) : index_(ShardIndex::load(dir)) {
  auto it = index_.splits.find(split);
  if (it == index_.splits.end()) fail("{}/index.json: no split \"{}\"", dir, split);
  const size_t width = index_.uint16 ? 2 : 4;
  for (auto& [file, n] : it->second.shards) {
    auto path = (std::filesystem::path(dir) / file).string();
    MappedFile f(path);
    if (f.size() != n * width) fail("{}: {} bytes, but index.json promises {} tokens of {} bytes", path, f.size(), n, width);
    starts_.push_back(total_);
    total_ += n;
    files_.push_back(std::move(f));
  }
  if (total_ == 0) fail("{}: split \"{}\" holds no tokens", dir, split);
}

void TokenDataset::read(uint64_t start, std::span<int32_t> out) const {
  if (start + out.size() > total_) fail("read of {} tokens at {} past the end ({})", out.size(), start, total_);
  size_t s = std::upper_bound(starts_.begin(), starts_.end(), start) - starts_.begin() - 1;
  size_t done = 0;
  while (done < out.size()) {
    uint64_t off = start + done - starts_[s];
    uint64_t avail = files_[s].size() / (index_.uint16 ? 2 : 4) - off;
    size_t take = std::min<uint64_t>(avail, out.size() - done);
    const uint8_t* p = files_[s].data();
    if (index_.uint16) {
      for (size_t i = 0; i < take; ++i) {
        uint16_t v;
        std::memcpy(&v, p + 2 * (off + i), 2);
        out[done + i] = v;
      }
    } else {
      std::memcpy(&out[done], p + 4 * off, 4 * take);
    }
    done += take;
    ++s;
  }
}

WindowSampler::WindowSampler(const TokenDataset& data, int64_t seq, uint64_t seed, uint64_t position)
    : data_(data), seq_(seq), seed_(seed), position_(position) {
  if (seq <= 0) fail("sequence length must be positive, got {}", seq);
  if (data.size() < static_cast<uint64_t>(seq) + 1)
    fail("dataset holds {} tokens, fewer than one window of {}", data.size(), seq + 1);
}

void WindowSampler::next_batch(int64_t batch, std::span<int32_t> tokens) {
  const uint64_t w = seq_ + 1, starts = data_.size() - w + 1;
  for (int64_t b = 0; b < batch; ++b, ++position_) {
    uint64_t start = splitmix64(seed_ * 0x2545f4914f6cdd1dULL ^ position_) % starts;
    data_.read(start, tokens.subspan(b * w, w));
  }
}

}  // namespace baimo
