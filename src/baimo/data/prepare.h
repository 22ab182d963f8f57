// prepare_shards: a corpus (document_reader.h) -> token shards (token_shards.h) for pretraining.
// Contract:
// - Two passes over the inputs: the first reads and checks every document (bad input fails before
//   anything is written) and counts them; the second tokenizes them in batches on `threads` OpenMP
//   threads (documents of >= 1 MB each with Tokenizer::encode_parallel) and appends them, in input
//   order, to the "train" or "val" split, each followed by eot_id.
// - The split is a function of (seed, document number) alone: document i goes to val when
//   hash(seed, i) < val_fraction * 2^64; if that picks none (small corpora) and there are >= 2
//   documents, the document with the smallest hash does; if it picks all, the largest stays in train.
//   So the output is byte-identical for the same inputs, seed and options, whatever the thread count.
// - out_dir: index.json and any <split>_NNNNN.bin of an earlier run are removed first, then shards
//   are written atomically and index.json last. An empty val split is left out of the index.
//   `baimo data prepare` passes a fresh staging directory (util/staged_dir.h) and swaps it in at the
//   end, so an earlier output survives an interrupted run.
// - cancel: when set (Ctrl-C), reading stops at the next document with baimo::Error "interrupted".
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "baimo/tokenizer/tokenizer.h"

namespace baimo {

struct PrepareOptions {
  std::vector<std::string> inputs;         // files (expand_inputs() already applied)
  std::vector<std::string> fields = {"text"};  // JSON/JSONL: first present field path wins
  std::string out_dir;
  double val_fraction = 0.005;             // 0 <= f <= 0.5
  uint64_t seed = 0;
  int threads = 0;                         // 0 = omp_get_max_threads()
  uint64_t shard_tokens = 100'000'000;     // tokens per shard file
  bool show_progress = false;
  const std::atomic<bool>* cancel = nullptr;
};

struct PrepareSummary {
  uint64_t documents = 0, train_documents = 0, val_documents = 0;
  uint64_t train_tokens = 0, val_tokens = 0;  // including one eot per document
  uint64_t bytes = 0, characters = 0;         // of the documents' text (UTF-8 code points)
  size_t train_shards = 0, val_shards = 0;
  bool uint16 = true;
  double seconds = 0;
};

PrepareSummary prepare_shards(const Tokenizer& tokenizer, int32_t eot_id, const PrepareOptions& opts);

}  // namespace baimo
