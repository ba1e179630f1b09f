#pragma once
// Shift benchmark: how a model's figures move when its images change the way radiographs from
// another hospital, machine or technician differ from the training ones.
//
// What it is for: validation images from the training hospital saturate (AUC ~ 0.999) and
// cannot tell recipes apart, nor say whether a threshold will transfer. Re-evaluating the
// same patient-disjoint validation images under controlled changes of contrast, exposure,
// blur, noise, resolution and positioning can. Each shift is deterministic: the same images
// give the same figures on every run.
// Thread safety: pure functions. Errors: InvalidArgument (unknown shift name, an image that
// is not square), plus whatever ResNetClassifier::evaluate raises.
#include <string>
#include <vector>

#include "xraykit/augment.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/evaluator.hpp"
#include "xraykit/export.hpp"
#include "xraykit/image.hpp"

namespace xraykit {

/// One controlled change of an image.
struct ImageShift {
  std::string name;         ///< short, e.g. "gamma-1.5"
  std::string description;  ///< in words, for reports
  Transform transform;      ///< geometry, blur and intensity
  double resolution = 1;    ///< < 1: down-sampled by this factor, then back up (detail lost)
};

/// The benchmark's shifts: "none" first, then one change at a time, mild and severe
/// (contrast, gamma, brightness, blur, noise, resolution, zoom, shift, aspect, rotation),
/// then three combinations ("soft-film", "hard-film", "reframed").
XRAYKIT_API std::vector<ImageShift> standard_shifts();

/// A square image under a shift (same size and channels).
XRAYKIT_API Image apply_shift(const Image& square, const ImageShift& shift);

struct ShiftResult {
  ImageShift shift;
  Evaluation evaluation;  ///< at the model's threshold, split named "<split> + <shift>"
};

/// Evaluates the model on `data` under each shift. options.threshold is replaced by the
/// model's threshold. tta: test-time augmentation (ResNetClassifier::predict's) on every
/// shifted image.
XRAYKIT_API std::vector<ShiftResult> shift_benchmark(const ResNetClassifier& model, const Dataset& data,
                                                     const std::vector<ImageShift>& shifts, EvalOptions options,
                                                     bool tta = false);

/// A plain-text table: one row per shift with AUC, accuracy, sensitivity and specificity,
/// and a last row with the mean over the shifted rows (not "none") and the worst of each.
XRAYKIT_API std::string shift_table(const std::vector<ShiftResult>& results);

}  // namespace xraykit
