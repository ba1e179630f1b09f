#pragma once
// Metric primitives over scores and labels: ROC and precision-recall curves, their areas,
// calibration, and decision-threshold selection. Pure functions, thread-safe.
// Errors: InvalidArgument when inputs disagree in length or hold values outside [0, 1].
#include <cstdint>
#include <string>
#include <vector>

#include "xraykit/export.hpp"

namespace xraykit {

struct RocPoint {
  double threshold;  ///< scores >= threshold are called positive
  double fpr;        ///< 1 - specificity
  double tpr;        ///< sensitivity
};

struct PrPoint {
  double threshold;
  double recall;
  double precision;
};

struct ReliabilityBin {
  double lo, hi;            ///< confidence range of the bin
  std::int64_t count = 0;
  double mean_confidence = 0;
  double accuracy = 0;
};

/// ROC of scores against binary labels (1 = positive), from (0,0) to (1,1); tied scores form
/// one step. Empty when either class is absent.
XRAYKIT_API std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& positive);

/// Area under the ROC curve (trapezoid; ties count one half, as the Mann-Whitney U).
/// NaN when either class is absent.
XRAYKIT_API double roc_auc(const std::vector<double>& scores, const std::vector<int>& positive);

/// Precision-recall curve, recall increasing.
XRAYKIT_API std::vector<PrPoint> pr_curve(const std::vector<double>& scores, const std::vector<int>& positive);

/// Average precision: sum over thresholds of (recall step) x precision (scikit-learn's
/// definition, no interpolation). NaN without positives.
XRAYKIT_API double average_precision(const std::vector<double>& scores, const std::vector<int>& positive);

/// Reliability of the predicted class's probability (confidence) against correctness, in
/// equal-width bins; returns the expected calibration error and fills the bins.
XRAYKIT_API double expected_calibration_error(const std::vector<double>& confidence, const std::vector<int>& correct,
                                              int bins, std::vector<ReliabilityBin>* out = nullptr);

enum class ThresholdRule {
  Youden,             ///< maximise sensitivity + specificity - 1 ("youden")
  /// 0.5, whatever the validation data say ("balanced"): the decision point that a
  /// class-balanced loss (Balance::Weights or Sampler) trains for. On validation data that
  /// separate the classes well, Youden's threshold sits at the edge of one class's scores and
  /// does not transfer: under the shift benchmark's changes it lost far more specificity
  /// than 0.5 did (docs/results.md).
  Balanced,
  TargetSensitivity,  ///< the highest threshold whose sensitivity reaches the target ("target-sensitivity")
};

/// The rule's name as above; parse_threshold_rule throws InvalidArgument naming the text.
XRAYKIT_API std::string to_string(ThresholdRule rule);
XRAYKIT_API ThresholdRule parse_threshold_rule(const std::string& text);

/// A decision threshold on positive-class scores chosen on validation data.
XRAYKIT_API double select_threshold(const std::vector<double>& scores, const std::vector<int>& positive,
                                    ThresholdRule rule, double target_sensitivity = 0.95);

}  // namespace xraykit
