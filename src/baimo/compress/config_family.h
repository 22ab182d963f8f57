// What a change of model size keeps (growth, structured pruning): the fields the model's function and
// its tokenizer depend on. require_same_family throws baimo::Error naming the field and both values,
// e.g. "the big config's vocab_size 65 differs from the small model's 64: the tokenizer stays".
#pragma once
#include <string_view>

#include "baimo/model/config.h"

namespace baimo {

// from_what / to_what name the two sides in messages ("the small model's", "the big config's").
void require_same_family(const ModelConfig& from, const ModelConfig& to, std::string_view from_what,
                         std::string_view to_what);

}  // namespace baimo
