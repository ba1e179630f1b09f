#pragma once
// ModelCard: what a model is, how it was trained, and how well it did on which data.
//
// What it is for: the one home of the facts a model carries beside its weights. fit()
// records the training part, the model file stores it as JSON (the "provenance"), and
// `xraykit info`, the web app's model-card page and the C and Python shells read it from
// here: one JSON form, one text rendering, one HTML rendering.
// Ownership: a value type; ResNetClassifier::card() returns a fresh copy.
// Thread safety: as any value type.
// Errors: parse_provenance throws InvalidArgument on malformed JSON or a field of the wrong
// type. Fields a file lacks keep their defaults (files from earlier versions lack some).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "xraykit/autoselect.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/evaluator.hpp"
#include "xraykit/export.hpp"
#include "xraykit/image.hpp"

namespace xraykit {

/// The validation figures recorded at the end of training.
struct XRAYKIT_API ValidationFigures {
  std::string split;  ///< which data (e.g. "validation (patient-disjoint)")
  std::int64_t images = 0, patients = 0;
  double threshold = 0.5;
  /// Named figures in report order: auc, accuracy, balanced_accuracy and, for binary models,
  /// the positive class's sensitivity, specificity and precision; for more classes, each
  /// class's "recall CLASS" and "precision CLASS".
  std::vector<std::pair<std::string, Estimate>> figures;
  /// The confusion matrix, rows the true class and columns the predicted one, in `classes`
  /// order (empty in files from before it was recorded).
  std::vector<std::string> classes;
  std::vector<std::int64_t> confusion;

  static ValidationFigures from(const Evaluation& evaluation);
};

struct XRAYKIT_API ModelCard {
  // What the model is: filled by ResNetClassifier::card() from the model itself.
  std::string arch;
  std::int64_t parameters = 0;
  std::vector<std::string> classes;
  int image_size = 0, channels = 0;
  Geometry geometry = Geometry::Squash;
  Normalization normalization;
  double threshold = 0.5;
  double temperature = 1;   ///< temperature scaling of the logits (see ResNetClassifier::temperature)
  bool ood_check = false;   ///< Prediction::ood_score is available (see ResNetClassifier::fit_ood)
  double ood_quantile = 0;  ///< the check's quantile of held-out X-rays inside its limit

  // Written by whoever publishes the model (kept in the provenance, also for untrained
  // models): data source and licence, intended use, known limits. Free text.
  std::string notes;

  // How it was made (the provenance): recorded by fit(); `trained` is false for a fresh
  // model or weights loaded from elsewhere, and then the fields below are empty.
  bool trained = false;
  std::string library_version;
  std::string train_data, validation_data;  ///< Dataset::summary() of each side
  std::string augmentation;                 ///< the Augmenter spec, expanded
  /// The run's options. Not recorded: paths, thread counts, callbacks, bootstrap and step limits.
  TrainOptions options;
  int epochs_run = 0, best_epoch = 0, kept_epoch = 0;
  bool stopped_early = false, cancelled = false;
  std::vector<EpochRecord> history;
  std::optional<ValidationFigures> validation;
  std::optional<AutoChoice> auto_select;  ///< when architecture, epochs or augmentation were chosen automatically

  /// The provenance as stored in model files (JSON; "{}" when not trained).
  std::string provenance_json() const;
  /// Replaces the provenance fields with those of `json` (what provenance_json() writes).
  void parse_provenance(const std::string& json);

  /// For people: plain text (`xraykit info`) and an HTML fragment (the web app's page).
  std::string to_text() const;
  std::string to_html() const;
};

}  // namespace xraykit
