// `baimo rm` subcommands defined in their own files: train (cli/rm_train.cpp).
#pragma once
#include <CLI/CLI.hpp>

namespace baimo::cli {

void add_rm_train(CLI::App* rm);

}  // namespace baimo::cli
