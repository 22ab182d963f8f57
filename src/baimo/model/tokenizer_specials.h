// take_tokenizer_specials: a model's bos / eos token ids come from its tokenizer, never from a config
// template (configs/tiny.json names eos 2, which is an ordinary piece in most trained tokenizers).
// Contract: cfg.bos_token_id = tok.bos_id and cfg.eos_token_ids = tok.eos_ids (none when the tokenizer
// defines none); returns one human-readable line per field that changed (empty when cfg agreed), naming
// `config_where` and `tokenizer_where`, for the caller to print as a note.
#pragma once
#include <string>
#include <vector>

#include "baimo/model/config.h"
#include "baimo/tokenizer/json_vocab_summary.h"

namespace baimo {

std::vector<std::string> take_tokenizer_specials(ModelConfig& cfg, const TokenizerJsonSummary& tok,
                                                 const std::string& config_where, const std::string& tokenizer_where);

}  // namespace baimo
