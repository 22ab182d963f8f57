#include "baimo/compress/calibration.h"

#include "baimo/data/document_reader.h"
#include "baimo/util/error.h"

namespace baimo {
namespace {
struct Full {};  // thrown to stop reading once the sequences are full
}  // namespace

std::vector<std::vector<int32_t>> calibration_sequences(const std::vector<std::string>& inputs,
                                                        const std::vector<std::string>& fields, const Tokenizer& tok,
                                                        int64_t count, int64_t seq_len) {
  if (count < 1) fail("calibration: {} sequences requested; need at least 1", count);
  if (seq_len < 2) fail("calibration: sequences of {} tokens; need at least 2", seq_len);
  const auto want = static_cast<size_t>(count * seq_len);
  std::vector<int32_t> ids;
  const std::optional<uint32_t> eos = tok.eos_id();
  DocumentReadOptions o;
  if (!fields.empty()) o.fields = fields;
  const std::vector<std::string> files = expand_inputs(inputs);
  try {
    for (const std::string& f : files)
      read_documents(f, o, [&](std::string_view text) {
        if (!ids.empty() && eos) ids.push_back(static_cast<int32_t>(*eos));
        for (uint32_t id : tok.encode(text, Specials::AsText)) ids.push_back(static_cast<int32_t>(id));
        if (ids.size() >= want) throw Full{};
      });
  } catch (const Full&) {
  }
  const size_t n = std::min(ids.size(), want) / static_cast<size_t>(seq_len);
  std::string names;
  for (const std::string& i : inputs) names += (names.empty() ? "" : ", ") + i;
  if (n == 0)
    fail("calibration text {}: {} token(s), fewer than one sequence of {}", names, ids.size(), seq_len);
  std::vector<std::vector<int32_t>> seqs(n);
  for (size_t i = 0; i < n; ++i)
    seqs[i].assign(ids.begin() + static_cast<std::ptrdiff_t>(i * seq_len),
                   ids.begin() + static_cast<std::ptrdiff_t>((i + 1) * seq_len));
  return seqs;
}

}  // namespace baimo
