#pragma once
// Evaluator: honest metrics for a classifier's predictions on one named split.
//
// What it is for: collect (probabilities, true label, patient) for each image, then compute
// the confusion matrix at the decision threshold, accuracy, balanced accuracy, per-class
// sensitivity / specificity / precision / F1, ROC AUC and average precision (binary, or
// one-vs-rest per class), calibration, and 95% bootstrap intervals that resample patients
// (not images: images of one child are not independent).
// Ownership: plain values. Thread safety: an Evaluator is not synchronised; use one per
// thread or guard add(). Evaluation is an immutable value.
// Errors: InvalidArgument (wrong probability vector length, label out of range, no samples).
#include <cstdint>
#include <string>
#include <vector>

#include "xraykit/export.hpp"
#include "xraykit/metrics.hpp"

namespace xraykit {

struct EvalOptions {
  std::string split = "validation";  ///< named in every output: figures say where they come from
  /// Binary only: the positive class (index 1) is predicted when its probability >= threshold.
  /// Multi-class predictions are the argmax.
  double threshold = 0.5;
  int bootstrap = 1000;  ///< patient-level resamples for the intervals; 0 = none
  double confidence = 0.95;
  std::uint64_t seed = 0;
  int calibration_bins = 10;
};

/// A figure with its bootstrap interval (lo = hi = value when bootstrap is off; NaN when
/// undefined, e.g. sensitivity of a class with no images).
struct Estimate {
  double value = 0, lo = 0, hi = 0;
};

struct ClassMetrics {
  std::string name;
  std::int64_t support = 0;  ///< images whose true class this is
  Estimate sensitivity;      ///< recall
  Estimate specificity;
  Estimate precision;
  Estimate f1;
  Estimate auc;  ///< one-vs-rest
  double average_precision = 0;
};

struct XRAYKIT_API Evaluation {
  std::string split;
  std::vector<std::string> classes;
  std::int64_t images = 0, patients = 0;
  double threshold = 0.5;
  int bootstrap = 0;
  double confidence = 0.95;
  /// confusion[t * k + p]: images of true class t predicted as p.
  std::vector<std::int64_t> confusion;
  Estimate accuracy, balanced_accuracy;
  Estimate auc;  ///< binary: of the positive class; multi-class: macro one-vs-rest
  std::vector<ClassMetrics> per_class;
  double ece = 0;
  std::vector<ReliabilityBin> reliability;
  std::vector<RocPoint> roc;  ///< binary: positive class; multi-class: empty (see per_class)
  std::vector<PrPoint> pr;

  std::int64_t count(int truth, int predicted) const { return confusion[truth * classes.size() + predicted]; }
  /// A figure by name: "accuracy", "balanced_accuracy", "auc", or for binary evaluations the
  /// positive class's "sensitivity", "specificity", "precision", "f1". InvalidArgument for
  /// another name, or a per-class name on a multi-class evaluation (see per_class there).
  const Estimate& figure(const std::string& name) const;
  /// Machine-readable results (stable keys).
  std::string to_json() const;
  /// to_json() written atomically to `path`. IoError naming the path.
  void save_json(const std::string& path) const;
  /// Terminal table: metrics with intervals and the confusion matrix.
  std::string to_text() const;
};

/// One epoch of training, for reports.
struct EpochRecord {
  int epoch = 0;
  double train_loss = 0;
  double val_loss = 0;
  double val_auc = 0;
  double val_accuracy = 0;
  double learning_rate = 0;
  double seconds = 0;
};

/// An EpochRecord as a JSON object (keys as the field names; a NaN is null) and back: the
/// one field list the model card, checkpoints and the Python and web shells share.
/// epoch_record_from_json throws InvalidArgument on a malformed record.
XRAYKIT_API std::string to_json(const EpochRecord& record);
XRAYKIT_API EpochRecord epoch_record_from_json(const std::string& json);

class XRAYKIT_API Evaluator {
 public:
  Evaluator(std::vector<std::string> classes, EvalOptions options = {});
  /// probabilities: one per class, summing to about 1.
  void add(const std::vector<float>& probabilities, int label, const std::string& patient);
  std::size_t size() const { return labels_.size(); }
  Evaluation evaluate() const;

 private:
  std::vector<std::string> classes_;
  EvalOptions options_;
  std::vector<std::vector<float>> probs_;
  std::vector<int> labels_;
  std::vector<std::string> patients_;
};

/// A self-contained HTML report (inline SVG, no external assets): metrics with intervals,
/// confusion matrix, ROC, PR, reliability and, if given, training curves.
XRAYKIT_API std::string html_report(const Evaluation& eval, const std::vector<EpochRecord>& history = {},
                                    const std::string& title = "xraykit evaluation");
/// html_report() written atomically to `path`. IoError naming the path.
XRAYKIT_API void save_html_report(const std::string& path, const Evaluation& eval,
                                  const std::vector<EpochRecord>& history = {},
                                  const std::string& title = "xraykit evaluation");

}  // namespace xraykit
