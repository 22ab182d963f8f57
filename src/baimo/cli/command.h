// Subcommand registry. Each cli/<name>.cpp registers itself with
//   BAIMO_COMMAND(order, [](CLI::App& root) { auto* sub = root.add_subcommand(...); ... });
// order sorts `baimo --help`. A subcommand's callback throws baimo::Error for bad input;
// main() prints it and exits 1.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace baimo::cli {

using RegisterFn = std::function<void(CLI::App& root)>;
struct CommandRegistrar {
  CommandRegistrar(int order, RegisterFn fn);
};
void register_all(CLI::App& root);

}  // namespace baimo::cli

#define BAIMO_CAT2(a, b) a##b
#define BAIMO_CAT(a, b) BAIMO_CAT2(a, b)
#define BAIMO_COMMAND(order, fn) \
  static ::baimo::cli::CommandRegistrar BAIMO_CAT(baimo_command_, __LINE__)(order, fn)
