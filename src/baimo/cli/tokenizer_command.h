// The `baimo tokenizer` parent subcommand, shared by cli/tokenizer.cpp (encode, decode, stats) and
// cli/tokenizer_train.cpp (train). Each file calls tokenizer_command(root) inside its BAIMO_COMMAND
// registration and adds its own subcommand to the returned App; whichever runs first creates it.
#pragma once
#include "baimo/cli/command.h"

namespace baimo::cli {

inline CLI::App* tokenizer_command(CLI::App& root) {
  return parent_command(root, "tokenizer", "Train, use and inspect byte-level BPE tokenizers");
}

}  // namespace baimo::cli
