// Curve and calibration primitives. Every curve sweeps the scores from high to low and
// treats tied scores as one step, so results do not depend on the order of the input.
#include "xraykit/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "util/choice.hpp"
#include "xraykit/error.hpp"

namespace xraykit {
namespace {

void check(const std::vector<double>& a, const std::vector<int>& b, const char* what) {
  if (a.size() != b.size())
    throw InvalidArgument(fmt::format("{}: {} scores but {} labels", what, a.size(), b.size()));
}

struct Step {
  double threshold;
  double tp, fp;  // cumulative counts at scores >= threshold
};

// Cumulative true/false positives at each distinct score, highest first.
std::vector<Step> sweep(const std::vector<double>& scores, const std::vector<int>& positive, double& p, double& n) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  p = static_cast<double>(std::count_if(positive.begin(), positive.end(), [](int v) { return v != 0; }));
  n = static_cast<double>(scores.size()) - p;
  std::vector<Step> steps;
  double tp = 0, fp = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    (positive[order[k]] ? tp : fp) += 1;
    if (k + 1 == order.size() || scores[order[k + 1]] != scores[order[k]])
      steps.push_back({scores[order[k]], tp, fp});
  }
  return steps;
}

}  // namespace

std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& positive) {
  check(scores, positive, "roc_curve");
  double p, n;
  const auto steps = sweep(scores, positive, p, n);
  if (p == 0 || n == 0) return {};
  std::vector<RocPoint> roc{{std::numeric_limits<double>::infinity(), 0.0, 0.0}};
  for (const auto& s : steps) roc.push_back({s.threshold, s.fp / n, s.tp / p});
  return roc;
}

double roc_auc(const std::vector<double>& scores, const std::vector<int>& positive) {
  const auto roc = roc_curve(scores, positive);
  if (roc.empty()) return std::numeric_limits<double>::quiet_NaN();
  double area = 0;
  for (std::size_t k = 1; k < roc.size(); ++k)
    area += (roc[k].fpr - roc[k - 1].fpr) * (roc[k].tpr + roc[k - 1].tpr) / 2;
  return area;
}

std::vector<PrPoint> pr_curve(const std::vector<double>& scores, const std::vector<int>& positive) {
  check(scores, positive, "pr_curve");
  double p, n;
  const auto steps = sweep(scores, positive, p, n);
  std::vector<PrPoint> pr;
  if (p == 0) return pr;
  for (const auto& s : steps) pr.push_back({s.threshold, s.tp / p, s.tp / (s.tp + s.fp)});
  return pr;
}

double average_precision(const std::vector<double>& scores, const std::vector<int>& positive) {
  const auto pr = pr_curve(scores, positive);
  if (pr.empty()) return std::numeric_limits<double>::quiet_NaN();
  double ap = 0, last_recall = 0;
  for (const auto& pt : pr) {
    ap += (pt.recall - last_recall) * pt.precision;
    last_recall = pt.recall;
  }
  return ap;
}

double expected_calibration_error(const std::vector<double>& confidence, const std::vector<int>& correct, int bins,
                                  std::vector<ReliabilityBin>* out) {
  check(confidence, correct, "expected_calibration_error");
  if (bins < 1) throw InvalidArgument("calibration needs at least one bin");
  std::vector<ReliabilityBin> b(bins);
  for (int i = 0; i < bins; ++i) b[i].lo = static_cast<double>(i) / bins, b[i].hi = static_cast<double>(i + 1) / bins;
  for (std::size_t k = 0; k < confidence.size(); ++k) {
    const double c = confidence[k];
    if (!(c >= 0 && c <= 1)) throw InvalidArgument(fmt::format("confidence {} is outside [0, 1]", c));
    // Bins are (lo, hi]; a confidence of exactly 0 joins the first.
    const int i = std::clamp(static_cast<int>(std::ceil(c * bins)) - 1, 0, bins - 1);
    b[i].count += 1;
    b[i].mean_confidence += c;
    b[i].accuracy += correct[k] ? 1 : 0;
  }
  double ece = 0;
  for (auto& bin : b) {
    if (bin.count == 0) continue;
    bin.mean_confidence /= bin.count;
    bin.accuracy /= bin.count;
    ece += static_cast<double>(bin.count) / confidence.size() * std::abs(bin.accuracy - bin.mean_confidence);
  }
  if (out) *out = b;
  return ece;
}

double select_threshold(const std::vector<double>& scores, const std::vector<int>& positive, ThresholdRule rule,
                        double target_sensitivity) {
  if (rule == ThresholdRule::Balanced) return 0.5;
  const auto roc = roc_curve(scores, positive);
  if (roc.empty()) throw InvalidArgument("threshold selection needs both classes among the labels");
  if (rule == ThresholdRule::TargetSensitivity) {
    if (!(target_sensitivity > 0 && target_sensitivity <= 1))
      throw InvalidArgument(fmt::format("target sensitivity must be in (0, 1], not {}", target_sensitivity));
    for (std::size_t k = 1; k < roc.size(); ++k)
      if (roc[k].tpr >= target_sensitivity) return roc[k].threshold;
    return roc.back().threshold;
  }
  std::size_t best = 1;
  for (std::size_t k = 1; k < roc.size(); ++k)
    if (roc[k].tpr - roc[k].fpr > roc[best].tpr - roc[best].fpr) best = k;
  return roc[best].threshold;
}

std::string to_string(ThresholdRule rule) {
  switch (rule) {
    case ThresholdRule::Youden: return "youden";
    case ThresholdRule::Balanced: return "balanced";
    case ThresholdRule::TargetSensitivity: return "target-sensitivity";
  }
  return "?";
}

ThresholdRule parse_threshold_rule(const std::string& text) {
  return parse_choice(text, {ThresholdRule::Youden, ThresholdRule::Balanced, ThresholdRule::TargetSensitivity},
                      "threshold rule");
}

}  // namespace xraykit
