// The `baimo data` command that the data subcommands (cli/data_prepare.cpp, cli/data_arithmetic.cpp)
// hang under: created by the first of them to register, found by the others.
#pragma once
#include <CLI/CLI.hpp>

namespace baimo::cli {

inline CLI::App* data_command(CLI::App& root) {
  auto found = root.get_subcommands([](CLI::App* x) { return x->get_name() == "data"; });
  if (!found.empty()) return found.front();
  CLI::App* data = root.add_subcommand("data", "Prepare training data");
  data->require_subcommand(1);
  return data;
}

}  // namespace baimo::cli
