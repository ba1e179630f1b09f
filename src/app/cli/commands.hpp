#pragma once
// Each `xraykit` subcommand registers itself on the CLI11 app and returns the function that
// runs it. The commands only translate arguments into library calls and print results.
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "xraykit/dataset.hpp"

namespace xraykit::cli {

using Command = std::function<int()>;

Command add_dataset_command(CLI::App& app);
Command add_augment_command(CLI::App& app);
Command add_train_command(CLI::App& app);
Command add_evaluate_command(CLI::App& app);
Command add_predict_command(CLI::App& app);
Command add_info_command(CLI::App& app);
Command add_demo_command(CLI::App& app);
Command add_serve_command(CLI::App& app);

/// The command line as typed (argv), for messages such as how to resume.
std::vector<std::string>& command_line();


}  // namespace xraykit::cli
