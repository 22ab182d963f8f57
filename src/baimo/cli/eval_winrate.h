// `baimo eval winrate` (cli/eval_winrate.cpp), added under the `eval` command that cli/eval.cpp creates.
#pragma once
#include <CLI/CLI.hpp>

namespace baimo::cli {

void add_eval_winrate(CLI::App& eval);

}  // namespace baimo::cli
