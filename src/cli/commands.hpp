#pragma once
// Each `xraykit` subcommand registers itself on the CLI11 app and returns the function that
// runs it. The commands only translate arguments into library calls and print results.
#include <functional>

#include <CLI/CLI.hpp>

#include "xraykit/dataset.hpp"

namespace xraykit::cli {

using Command = std::function<int()>;

Command add_dataset_command(CLI::App& app);
Command add_augment_command(CLI::App& app);

/// A folder tree, or a CSV manifest when the path ends in .csv.
Dataset load_dataset(const std::string& source, const DatasetOptions& options);

}  // namespace xraykit::cli
