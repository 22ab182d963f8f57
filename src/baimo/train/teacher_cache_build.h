// Building a teacher cache (teacher_cache.h) for a run's chat training examples.
// - teacher_topk(z, V, k, T, ids, logprobs, rest): of one row of logits z (V): the k largest, largest first
//   (ties: the lower id first): ids (k), their log softmax(z / T) (log-sum-exp in double), and rest = the
//   probability of every other token, summed in double.
// - teacher_fingerprint(path): Hash64 of what the teacher's weights are read from: a file (GGUF) whole; a
//   model directory's config.json and model*.safetensors / *.gguf files, in name order (names, sizes,
//   bytes). The same weights under another path give the same fingerprint.
// - sft_data_fingerprint(examples): Hash64 of the examples' count and, in order, each one's ids and mask.
// - teacher_cache_offsets(examples): (E + 1) record offsets; example e holds one record per counted target
//   position, the t in [0, L - 1) with mask[t + 1] = 1 (as PackedPlan fills targets).
// - teacher_cache_meta(teacher_path, examples, top_k, temperature, vocab_size): all of the above in one
//   TeacherCacheMeta.
// - build_teacher_cache(path, teacher, examples, meta, seq, rows): runs the teacher without a tape over the
//   examples in their order, packed next-fit into batches of `rows` rows of `seq` tokens (attention and
//   positions restart at every example, as in training's packed rows, so an example's logits do not depend
//   on its neighbours), its head a chunk of counted positions at a time; writes `path` atomically with a
//   progress bar on stderr. Errors: an example longer than seq, a teacher vocabulary other than
//   meta.vocab_size, a non-finite teacher logit (naming the example and position).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "baimo/data/sft_examples.h"
#include "baimo/model/transformer.h"
#include "baimo/train/teacher_cache.h"

namespace baimo::train {

void teacher_topk(const float* z, int64_t V, int64_t k, float temperature, int32_t* ids, float* logprobs, float* rest);

uint64_t teacher_fingerprint(const std::string& path);
uint64_t sft_data_fingerprint(std::span<const SftExample> examples);
std::vector<uint64_t> teacher_cache_offsets(std::span<const SftExample> examples);
TeacherCacheMeta teacher_cache_meta(const std::string& teacher_path, std::span<const SftExample> examples,
                                    int64_t top_k, float temperature, int64_t vocab_size);

void build_teacher_cache(const std::string& path, const Transformer& teacher, std::span<const SftExample> examples,
                         const TeacherCacheMeta& meta, int64_t seq, int64_t rows);

}  // namespace baimo::train
