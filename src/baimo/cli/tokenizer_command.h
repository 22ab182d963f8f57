// The `baimo tokenizer` parent subcommand, shared by cli/tokenizer.cpp (encode, decode, stats) and
// cli/tokenizer_train.cpp (train). Each file calls tokenizer_command(root) inside its BAIMO_COMMAND
// registration and adds its own subcommand to the returned App; whichever runs first creates it.
#pragma once
#include <CLI/CLI.hpp>

namespace baimo::cli {

inline CLI::App* tokenizer_command(CLI::App& root) {
  // (CLI11 2.1 has no get_subcommand_no_throw)
  auto found = root.get_subcommands([](CLI::App* a) { return a->get_name() == "tokenizer"; });
  if (!found.empty()) return found.front();
  CLI::App* tok = root.add_subcommand("tokenizer", "Train, use and inspect byte-level BPE tokenizers");
  tok->require_subcommand(1);
  return tok;
}

}  // namespace baimo::cli
