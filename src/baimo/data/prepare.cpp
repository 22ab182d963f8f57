#include "baimo/data/prepare.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <regex>

#include "baimo/data/document_reader.h"
#include "baimo/data/token_shards.h"
#include "baimo/util/error.h"
#include "baimo/util/progress.h"

namespace baimo {

namespace fs = std::filesystem;

namespace {

uint64_t doc_hash(uint64_t seed, uint64_t i) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL ^ (i + 0x632be59bd9b4e019ULL);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t count_code_points(std::string_view s) {
  uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Which documents go to val: see the header.
struct SplitRule {
  uint64_t seed = 0, threshold = 0;
  std::optional<uint64_t> force_val, force_train;
  bool is_val(uint64_t i) const {
    if (force_val && *force_val == i) return true;
    if (force_train && *force_train == i) return false;
    return doc_hash(seed, i) < threshold;
  }
};

struct Scan {
  uint64_t documents = 0, bytes = 0;
  SplitRule split;
};

void check_cancel(const PrepareOptions& o) {
  if (o.cancel && o.cancel->load()) fail("interrupted");
}

Scan scan_inputs(const PrepareOptions& o) {
  Scan s;
  s.split.seed = o.seed;
  // threshold = f * 2^64, saturating (f <= 0.5 here, so no overflow).
  s.split.threshold = static_cast<uint64_t>(std::ldexp(o.val_fraction, 64));
  uint64_t below = 0, min_h = std::numeric_limits<uint64_t>::max(), max_h = 0, argmin = 0, argmax = 0;
  uint64_t file_bytes = 0;
  for (auto& p : o.inputs) file_bytes += fs::file_size(p);
  std::unique_ptr<Progress> bar;
  if (o.show_progress) bar = std::make_unique<Progress>("reading   ", file_bytes, "MB", 1e6);
  for (auto& p : o.inputs) {
    read_documents(p, o.fields, [&](std::string_view text) {
      check_cancel(o);
      uint64_t h = doc_hash(o.seed, s.documents);
      below += h < s.split.threshold;
      if (h < min_h) min_h = h, argmin = s.documents;
      if (h >= max_h) max_h = h, argmax = s.documents;
      ++s.documents;
      s.bytes += text.size();
    });
    if (bar) bar->add(fs::file_size(p));
  }
  if (bar) bar->finish();
  if (o.val_fraction > 0 && s.documents >= 2) {
    if (below == 0) s.split.force_val = argmin;
    if (below == s.documents) s.split.force_train = argmax;
  }
  return s;
}

void remove_previous_output(const std::string& dir) {
  std::error_code ec;
  fs::remove(fs::path(dir) / "index.json", ec);
  if (!fs::is_directory(dir)) return;
  static const std::regex shard_name(R"((train|val)_\d{5}\.bin)");
  for (auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && std::regex_match(e.path().filename().string(), shard_name)) fs::remove(e.path());
}

}  // namespace

PrepareSummary prepare_shards(const Tokenizer& tokenizer, int32_t eot_id, const PrepareOptions& o) {
  if (o.inputs.empty()) fail("no input files");
  if (!(o.val_fraction >= 0 && o.val_fraction <= 0.5)) fail("--val-fraction must be in [0, 0.5], got {}", o.val_fraction);
  if (o.shard_tokens == 0) fail("shard size must be positive");
  if (eot_id < 0 || static_cast<size_t>(eot_id) >= tokenizer.vocab_size())
    fail("end-of-text id {} outside the vocabulary (size {})", eot_id, tokenizer.vocab_size());
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  const auto t0 = std::chrono::steady_clock::now();

  const Scan scan = scan_inputs(o);  // every input checked before anything is written
  if (scan.documents == 0) fail("the inputs hold no documents (all empty)");

  PrepareSummary sum;
  sum.documents = scan.documents;
  sum.bytes = scan.bytes;
  fs::create_directories(o.out_dir);
  remove_previous_output(o.out_dir);

  ShardIndex index;
  index.vocab_size = static_cast<int64_t>(tokenizer.vocab_size());
  index.uint16 = index.vocab_size <= 65536;
  index.eot_id = eot_id;
  ShardWriter train(o.out_dir, "train", index, o.shard_tokens), val(o.out_dir, "val", index, o.shard_tokens);

  std::unique_ptr<Progress> bar;
  if (o.show_progress) bar = std::make_unique<Progress>("tokenizing", scan.bytes, "MB", 1e6);

  // One batch of documents at a time: tokenized in parallel, written in order.
  constexpr size_t kBatchBytes = 8u << 20, kBigDocument = 1u << 20;
  std::vector<std::string> docs;
  std::vector<std::vector<uint32_t>> ids;
  std::vector<std::vector<int32_t>> ids32;
  size_t batch_bytes = 0;
  uint64_t next_doc = 0;
  auto flush = [&] {
    const size_t n = docs.size();
    if (ids.size() < n) ids.resize(n), ids32.resize(n);
    std::vector<uint64_t> chars(n);
    for (size_t i = 0; i < n; ++i)
      if (docs[i].size() >= kBigDocument) ids[i] = tokenizer.encode_parallel(docs[i], Specials::AsText, threads);
    std::exception_ptr error;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (size_t i = 0; i < n; ++i) {
      try {
        if (docs[i].size() < kBigDocument) {
          ids[i].clear();
          tokenizer.encode_into(docs[i], Specials::AsText, ids[i]);
        }
        ids32[i].assign(ids[i].begin(), ids[i].end());
        chars[i] = count_code_points(docs[i]);
      } catch (...) {
#pragma omp critical
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    for (size_t i = 0; i < n; ++i, ++next_doc) {
      bool to_val = scan.split.is_val(next_doc);
      (to_val ? val : train).add_document(ids32[i]);
      (to_val ? sum.val_documents : sum.train_documents) += 1;
      sum.characters += chars[i];
    }
    if (bar) bar->add(batch_bytes);
    docs.clear();
    batch_bytes = 0;
  };
  for (auto& p : o.inputs) {
    read_documents(p, o.fields, [&](std::string_view text) {
      check_cancel(o);
      docs.emplace_back(text);
      batch_bytes += text.size();
      if (batch_bytes >= kBatchBytes) flush();
    });
  }
  flush();
  if (bar) bar->finish();
  if (next_doc != scan.documents) fail("the inputs changed while being read ({} then {} documents)", scan.documents, next_doc);

  train.finish();
  val.finish();
  if (index.splits["val"].documents == 0) index.splits.erase("val");
  index.save(o.out_dir);

  sum.uint16 = index.uint16;
  sum.train_tokens = index.splits["train"].tokens;
  sum.train_shards = index.splits["train"].shards.size();
  if (index.splits.count("val")) {
    sum.val_tokens = index.splits["val"].tokens;
    sum.val_shards = index.splits["val"].shards.size();
  }
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sum;
}

}  // namespace baimo
