// baimo: one program, subcommands registered by the files beside this one.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <vector>

#include "baimo/cli/command.h"
#include "baimo/kernels/cpu/cpu_features.h"
#include "baimo/train/distributed.h"
#include "baimo/util/process_env.h"
#include "baimo/util/error.h"

namespace baimo::cli {

namespace {
// GOMP_SPINCOUNT for `baimo serve` (see util/process_env.h): measured with bench/serve.
constexpr const char* kServeOmpSpinCount = "10000";

std::vector<std::pair<int, RegisterFn>>& registry() {
  static std::vector<std::pair<int, RegisterFn>> r;
  return r;
}
}  // namespace

CommandRegistrar::CommandRegistrar(int order, RegisterFn fn) { registry().emplace_back(order, std::move(fn)); }

void register_all(CLI::App& root) {
  auto& r = registry();
  std::stable_sort(r.begin(), r.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [order, fn] : r) fn(root);
}

}  // namespace baimo::cli

int main(int argc, char** argv) {
  // The server's compute threads share the cores with its HTTP threads: they spin only briefly.
  const bool serving = argc > 1 && std::string_view(argv[1]) == "serve";
  baimo::prepare_process_env(argv, {baimo::cpu::preferred_blas_coretype(),
                                    serving ? baimo::cli::kServeOmpSpinCount : nullptr});
  CLI::App app{"baimo (百模): build, align, shrink and serve your own ChatGPT-style model", "baimo"};
  app.set_version_flag("--version", std::string("baimo ") + BAIMO_VERSION);
  app.require_subcommand(1);
  baimo::cli::register_all(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / --version exit 0; a bad flag (unknown, missing, out of range) is bad input: exit 1,
    // like every other error, with CLI11's message naming the flag.
    return app.exit(e) == 0 ? 0 : 1;
  } catch (const baimo::Error& e) {
    std::fprintf(stderr, "baimo: error: %s\n", e.what());
    baimo::Comm::abort_if_distributed(1);  // under mpirun: don't leave the other ranks waiting
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {  // a path a person gave: name it, not "internal"
    std::fprintf(stderr, "baimo: error: %s: %s\n", e.path1().c_str(), e.code().message().c_str());
    baimo::Comm::abort_if_distributed(1);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "baimo: internal error: %s\n", e.what());
    baimo::Comm::abort_if_distributed(2);
    return 2;
  }
  return 0;
}
