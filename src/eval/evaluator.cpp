// Evaluator: point estimates on the whole split, intervals from resampling patients.
#include "xraykit/evaluator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "util/rng.hpp"
#include "xraykit/error.hpp"

namespace xraykit {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double a, double b) { return b > 0 ? a / b : kNaN; }

// The scalar figures that get intervals, computed on a multiset of sample indices.
struct PointEstimates {
  double accuracy = kNaN, balanced_accuracy = kNaN, auc = kNaN;
  std::vector<double> sensitivity, specificity, precision, f1, class_auc;
};

class MetricCalculator {
 public:
  MetricCalculator(const std::vector<std::vector<float>>& probs, const std::vector<int>& labels, int k, double threshold)
      : probs_(probs), labels_(labels), k_(k) {
    for (const auto& p : probs) predicted_.push_back(predict(p, threshold));
  }

  const std::vector<int>& predicted() const { return predicted_; }

  std::vector<std::int64_t> confusion(const std::vector<std::size_t>& idx) const {
    std::vector<std::int64_t> cm(static_cast<std::size_t>(k_) * k_, 0);
    for (std::size_t i : idx) ++cm[labels_[i] * k_ + predicted_[i]];
    return cm;
  }

  PointEstimates estimates(const std::vector<std::size_t>& idx) const {
    PointEstimates f;
    const auto cm = confusion(idx);
    const double n = static_cast<double>(idx.size());
    double correct = 0, recall_sum = 0;
    int recall_classes = 0;
    for (int c = 0; c < k_; ++c) {
      double tp = cm[c * k_ + c], fn = 0, fp = 0;
      for (int j = 0; j < k_; ++j)
        if (j != c) fn += cm[c * k_ + j], fp += cm[j * k_ + c];
      const double tn = n - tp - fn - fp;
      correct += tp;
      const double sens = ratio(tp, tp + fn), prec = ratio(tp, tp + fp);
      f.sensitivity.push_back(sens);
      f.specificity.push_back(ratio(tn, tn + fp));
      f.precision.push_back(prec);
      f.f1.push_back(ratio(2 * tp, 2 * tp + fp + fn));
      if (!std::isnan(sens)) recall_sum += sens, ++recall_classes;
      std::vector<double> scores;
      std::vector<int> pos;
      for (std::size_t i : idx) scores.push_back(probs_[i][c]), pos.push_back(labels_[i] == c);
      f.class_auc.push_back(roc_auc(scores, pos));
    }
    f.accuracy = ratio(correct, n);
    f.balanced_accuracy = recall_classes ? recall_sum / recall_classes : kNaN;
    if (k_ == 2) {
      f.auc = f.class_auc[1];
    } else {
      double sum = 0;
      int m = 0;
      for (double a : f.class_auc)
        if (!std::isnan(a)) sum += a, ++m;
      f.auc = m ? sum / m : kNaN;
    }
    return f;
  }

 private:
  int predict(const std::vector<float>& p, double threshold) const {
    if (k_ == 2) return p[1] >= threshold ? 1 : 0;
    return static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
  }
  const std::vector<std::vector<float>>& probs_;
  const std::vector<int>& labels_;
  int k_;
  std::vector<int> predicted_;
};

// Percentile interval of the finite values; NaN when there are none.
std::pair<double, double> percentile_interval(std::vector<double> v, double confidence) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return {kNaN, kNaN};
  std::sort(v.begin(), v.end());
  const double alpha = (1 - confidence) / 2;
  auto at = [&](double q) {
    const double pos = q * (v.size() - 1);
    const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(v.size() - 1, lo + 1);
    return v[lo] + (pos - lo) * (v[hi] - v[lo]);
  };
  return {at(alpha), at(1 - alpha)};
}

}  // namespace

Evaluator::Evaluator(std::vector<std::string> classes, EvalOptions options)
    : classes_(std::move(classes)), options_(std::move(options)) {
  if (classes_.size() < 2) throw InvalidArgument("an Evaluator needs at least two classes");
  if (options_.bootstrap < 0) throw InvalidArgument("bootstrap count must be >= 0");
  if (!(options_.confidence > 0 && options_.confidence < 1)) throw InvalidArgument("confidence must be in (0, 1)");
  if (!(options_.threshold >= 0 && options_.threshold <= 1)) throw InvalidArgument("threshold must be in [0, 1]");
}

void Evaluator::add(const std::vector<float>& probabilities, int label, const std::string& patient) {
  if (probabilities.size() != classes_.size())
    throw InvalidArgument(fmt::format("{} probabilities given for {} classes", probabilities.size(), classes_.size()));
  if (label < 0 || label >= static_cast<int>(classes_.size()))
    throw InvalidArgument(fmt::format("label {} outside [0, {})", label, classes_.size()));
  for (float p : probabilities)
    if (!(p >= 0 && p <= 1)) throw InvalidArgument(fmt::format("probability {} outside [0, 1]", p));
  probs_.push_back(probabilities);
  labels_.push_back(label);
  patients_.push_back(patient);
}

Evaluation Evaluator::evaluate() const {
  if (labels_.empty()) throw InvalidArgument("nothing to evaluate: no predictions were added");
  const int k = static_cast<int>(classes_.size());
  const MetricCalculator comp(probs_, labels_, k, options_.threshold);

  std::vector<std::size_t> all(labels_.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const PointEstimates point = comp.estimates(all);

  // Patient -> its images; resampling draws patients with replacement.
  std::map<std::string, std::vector<std::size_t>> by_patient;
  for (std::size_t i = 0; i < patients_.size(); ++i) by_patient[patients_[i]].push_back(i);
  std::vector<const std::vector<std::size_t>*> groups;
  for (const auto& [name, idx] : by_patient) groups.push_back(&idx);

  std::vector<PointEstimates> boots;
  Rng rng(options_.seed);
  for (int b = 0; b < options_.bootstrap; ++b) {
    std::vector<std::size_t> idx;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const auto* pick = groups[rng.below(groups.size())];
      idx.insert(idx.end(), pick->begin(), pick->end());
    }
    boots.push_back(comp.estimates(idx));
  }
  auto estimate = [&](double value, auto get) {
    Estimate e{value, value, value};
    if (boots.empty() || std::isnan(value)) return e;
    std::vector<double> v;
    for (const auto& f : boots) v.push_back(get(f));
    std::tie(e.lo, e.hi) = percentile_interval(v, options_.confidence);
    return e;
  };

  Evaluation ev;
  ev.split = options_.split;
  ev.classes = classes_;
  ev.images = static_cast<std::int64_t>(labels_.size());
  ev.patients = static_cast<std::int64_t>(groups.size());
  ev.threshold = options_.threshold;
  ev.bootstrap = options_.bootstrap;
  ev.confidence = options_.confidence;
  ev.confusion = comp.confusion(all);
  ev.accuracy = estimate(point.accuracy, [](const PointEstimates& f) { return f.accuracy; });
  ev.balanced_accuracy = estimate(point.balanced_accuracy, [](const PointEstimates& f) { return f.balanced_accuracy; });
  ev.auc = estimate(point.auc, [](const PointEstimates& f) { return f.auc; });
  for (int c = 0; c < k; ++c) {
    ClassMetrics m;
    m.name = classes_[c];
    m.support = std::count(labels_.begin(), labels_.end(), c);
    m.sensitivity = estimate(point.sensitivity[c], [c](const PointEstimates& f) { return f.sensitivity[c]; });
    m.specificity = estimate(point.specificity[c], [c](const PointEstimates& f) { return f.specificity[c]; });
    m.precision = estimate(point.precision[c], [c](const PointEstimates& f) { return f.precision[c]; });
    m.f1 = estimate(point.f1[c], [c](const PointEstimates& f) { return f.f1[c]; });
    m.auc = estimate(point.class_auc[c], [c](const PointEstimates& f) { return f.class_auc[c]; });
    std::vector<double> scores;
    std::vector<int> pos;
    for (std::size_t i = 0; i < labels_.size(); ++i) scores.push_back(probs_[i][c]), pos.push_back(labels_[i] == c);
    m.average_precision = average_precision(scores, pos);
    if (k == 2 && c == 1) {
      ev.roc = roc_curve(scores, pos);
      ev.pr = pr_curve(scores, pos);
    }
    ev.per_class.push_back(m);
  }
  std::vector<double> confidence;
  std::vector<int> correct;
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    const int p = comp.predicted()[i];
    confidence.push_back(probs_[i][p]);
    correct.push_back(p == labels_[i]);
  }
  ev.ece = expected_calibration_error(confidence, correct, options_.calibration_bins, &ev.reliability);
  return ev;
}

const Estimate& Evaluation::figure(const std::string& name) const {
  if (name == "accuracy") return accuracy;
  if (name == "balanced_accuracy") return balanced_accuracy;
  if (name == "auc") return auc;
  const bool per_class_name = name == "sensitivity" || name == "specificity" || name == "precision" || name == "f1";
  if (!per_class_name)
    throw InvalidArgument(fmt::format("unknown figure '{}' (accuracy, balanced_accuracy, auc, sensitivity, specificity, "
                                      "precision, f1)", name));
  if (classes.size() != 2 || per_class.size() != 2)
    throw InvalidArgument(fmt::format("'{}' is per class in a {}-class evaluation: read it from per_class", name, classes.size()));
  const ClassMetrics& positive = per_class[1];
  if (name == "sensitivity") return positive.sensitivity;
  if (name == "specificity") return positive.specificity;
  if (name == "precision") return positive.precision;
  return positive.f1;
}

}  // namespace xraykit
