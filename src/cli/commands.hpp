#pragma once
// Each `xraykit` subcommand registers itself on the CLI11 app and returns the function that
// runs it. The commands only translate arguments into library calls and print results.
#include <functional>

#include <CLI/CLI.hpp>

namespace xraykit::cli {

using Command = std::function<int()>;

Command add_dataset_command(CLI::App& app);

}  // namespace xraykit::cli
