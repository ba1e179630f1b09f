#pragma once
// Auto-selection of architecture, epochs and augmentation for a time budget.
//
// What it is for: the "auto" choices of the no-code tools. It measures the real training
// throughput of each candidate architecture on this machine for a few steps, then picks the
// largest model that still gets enough epochs within the budget for this dataset size, and
// an augmentation strength that suits the dataset size and epoch count. With `search`, it
// then runs a short successive-halving search over the affordable candidates on the
// validation split. Every choice comes with the reason, in words.
// Thread safety: uses Torch's global thread pool; do not run two at once.
// Errors: InvalidArgument (bad budget, no candidates, datasets that fit() would refuse).
#include <string>
#include <vector>

#include "xraykit/classifier.hpp"
#include "xraykit/dataset.hpp"
#include "xraykit/export.hpp"

namespace xraykit {

struct AutoSelectOptions {
  bool auto_arch = true, auto_epochs = true, auto_augment = true;
  std::string arch = "resnet18";  ///< used when !auto_arch
  int epochs = 10;                ///< used when !auto_epochs
  std::string augment = "light";  ///< used when !auto_augment
  /// From small to large (auto picks the largest that fits the budget).
  std::vector<std::string> candidates = {"resnet18", "resnet34", "resnet50"};
  double budget_seconds = 30 * 60;  ///< for the whole training run
  int probe_steps = 3;              ///< timed training steps per candidate (after one warm-up)
  int min_epochs = 8;               ///< a larger model must afford at least this many epochs
  int max_epochs = 30;
  bool search = false;              ///< successive halving on the validation split
};

struct Throughput {
  std::string arch;
  double images_per_second = 0;
};

struct AutoChoice {
  std::string arch;
  int epochs = 0;
  std::string augment;
  double expected_seconds = 0;
  std::vector<Throughput> measured;
  std::string reason;  ///< why, in a few sentences
  double budget_seconds = 0;  ///< the budget it was chosen for
  bool search = false;        ///< whether a successive-halving search chose among candidates
};

/// Chooses a configuration for `train`/`val` with the model options and base training
/// options given (batch size, threads, seed, bf16 are taken from `base`).
XRAYKIT_API AutoChoice auto_select(const Dataset& train, const Dataset& val, const ClassifierOptions& model,
                                   const TrainOptions& base, const AutoSelectOptions& options);

/// An AutoChoice as a JSON object and back: the model card's field list, which the studio also
/// keeps a job's choice in. auto_choice_from_json throws InvalidArgument on malformed JSON.
XRAYKIT_API std::string to_json(const AutoChoice& choice);
XRAYKIT_API AutoChoice auto_choice_from_json(const std::string& json);

/// Parses "90s", "30m", "2h", "1h30m" or a plain number of seconds.
XRAYKIT_API double parse_duration(const std::string& text);

}  // namespace xraykit
