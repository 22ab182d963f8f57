// The `baimo data` parent subcommand, shared by cli/data_prepare.cpp (prepare) and
// cli/data_arithmetic.cpp (arithmetic): each adds its subcommand to the App data_command(root) returns.
#pragma once
#include "baimo/cli/command.h"

namespace baimo::cli {

inline CLI::App* data_command(CLI::App& root) { return parent_command(root, "data", "Prepare training data"); }

}  // namespace baimo::cli
