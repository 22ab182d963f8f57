#include "baimo/model/tokenizer_specials.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace baimo {

namespace {
std::string ids_text(const std::vector<int64_t>& ids) {
  if (ids.empty()) return "none";
  if (ids.size() == 1) return std::to_string(ids[0]);
  return fmt::format("[{}]", fmt::join(ids, ", "));
}
}  // namespace

std::vector<std::string> take_tokenizer_specials(ModelConfig& cfg, const TokenizerJsonSummary& tok,
                                                 const std::string& config_where, const std::string& tokenizer_where) {
  std::vector<std::string> notes;
  if (cfg.bos_token_id != tok.bos_id)
    notes.push_back(fmt::format("{}: bos_token_id {} replaced by {}'s {}", config_where,
                                cfg.bos_token_id ? std::to_string(*cfg.bos_token_id) : "none", tokenizer_where,
                                tok.bos_id ? std::to_string(*tok.bos_id) : "none"));
  if (cfg.eos_token_ids != tok.eos_ids)
    notes.push_back(fmt::format("{}: eos_token_id {} replaced by {}'s {}", config_where, ids_text(cfg.eos_token_ids),
                                tokenizer_where, ids_text(tok.eos_ids)));
  cfg.bos_token_id = tok.bos_id;
  cfg.eos_token_ids = tok.eos_ids;
  return notes;
}

}  // namespace baimo
