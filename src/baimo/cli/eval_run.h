// `baimo eval run` (cli/eval_run.cpp), added under the `eval` command that cli/eval.cpp creates.
#pragma once
#include <CLI/CLI.hpp>

namespace baimo::cli {

void add_eval_run(CLI::App& eval);

}  // namespace baimo::cli
