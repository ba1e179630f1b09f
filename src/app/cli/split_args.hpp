#pragma once
// The validation split that `train` and `dataset` share: a patient-disjoint fraction, or one
// fold of a patient-disjoint k-fold ("--fold 2/5"), both seeded.
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "xraykit/dataset.hpp"

namespace xraykit::cli {

struct SplitArgs {
  double val = 0.15;
  std::string fold;  ///< "I/K" (1-based) or empty for `val`
  std::uint64_t seed = 42;
};

/// Adds --val and --fold (the seed option stays with each command: it seeds more than the split).
void add_split_options(CLI::App* cmd, SplitArgs& args);

/// InvalidArgument for a malformed --fold (before any data is loaded).
void check_split_args(const SplitArgs& args);

/// InvalidArgument for a malformed --fold; DatasetError where the data cannot be split so.
Split make_split(const Dataset& data, const SplitArgs& args);

}  // namespace xraykit::cli
