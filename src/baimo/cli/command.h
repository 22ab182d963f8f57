// Subcommand registry. Each cli/<name>.cpp registers itself with
//   BAIMO_COMMAND(order, [](CLI::App& root) { auto* sub = root.add_subcommand(...); ... });
// order sorts `baimo --help`. A subcommand's callback throws baimo::Error for bad input;
// main() prints it and exits 1.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace baimo::cli {

using RegisterFn = std::function<void(CLI::App& root)>;
struct CommandRegistrar {
  CommandRegistrar(int order, RegisterFn fn);
};
void register_all(CLI::App& root);

// A parent command that several files add subcommands to (`baimo tokenizer`, `baimo data`): whichever
// registers first creates it (requiring one subcommand), the others find it.
inline CLI::App* parent_command(CLI::App& root, const std::string& name, const std::string& description) {
  // (CLI11 2.1 has no get_subcommand_no_throw)
  auto found = root.get_subcommands([&](CLI::App* a) { return a->get_name() == name; });
  if (!found.empty()) return found.front();
  CLI::App* parent = root.add_subcommand(name, description);
  parent->require_subcommand(1);
  return parent;
}

}  // namespace baimo::cli

#define BAIMO_CAT2(a, b) a##b
#define BAIMO_CAT(a, b) BAIMO_CAT2(a, b)
// __COUNTER__, not __LINE__: a unity build (BAIMO_UNITY) merges several cli/*.cpp into one translation
// unit, where two registrations can share a line number.
#define BAIMO_COMMAND(order, fn) \
  static ::baimo::cli::CommandRegistrar BAIMO_CAT(baimo_command_, __COUNTER__)(order, fn)
