#include "split_args.hpp"

#include <regex>

#include <fmt/format.h>

#include "xraykit/error.hpp"

namespace xraykit::cli {

namespace {

// "I/K" -> {I, K}; InvalidArgument unless K >= 2 and 1 <= I <= K.
std::pair<int, int> parse_fold(const std::string& text) {
  std::smatch m;
  if (!std::regex_match(text, m, std::regex("([0-9]{1,3})/([0-9]{1,3})")))
    throw InvalidArgument(fmt::format("--fold must be I/K such as 2/5, not '{}'", text));
  const int i = std::stoi(m[1]), k = std::stoi(m[2]);
  if (k < 2 || i < 1 || i > k) throw InvalidArgument(fmt::format("--fold {}: need K >= 2 and 1 <= I <= K", text));
  return {i, k};
}

}  // namespace

void add_split_options(CLI::App* cmd, SplitArgs& args) {
  cmd->add_option("--val", args.val, "Validation fraction of each class (patient-disjoint)")
      ->check(CLI::Range(0.01, 0.9))->capture_default_str();
  cmd->add_option("--fold", args.fold,
                  "I/K: validate on fold I of a patient-disjoint K-fold instead of --val (e.g. 2/5, for cross-validation)");
}

void check_split_args(const SplitArgs& args) {
  if (!args.fold.empty()) parse_fold(args.fold);
}

Split make_split(const Dataset& data, const SplitArgs& args) {
  if (args.fold.empty()) return data.split(args.val, args.seed);
  const auto [i, k] = parse_fold(args.fold);
  return data.kfold(k, args.seed)[static_cast<std::size_t>(i - 1)];
}

}  // namespace xraykit::cli
