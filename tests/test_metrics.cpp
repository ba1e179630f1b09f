// Metrics against hand-computed cases and an independent brute-force computation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "xraykit/error.hpp"
#include "xraykit/evaluator.hpp"
#include "xraykit/metrics.hpp"

using namespace xraykit;

namespace {

// Probability that a random positive outscores a random negative, ties counting one half:
// the definition of ROC AUC, computed over all pairs.
double pairwise_auc(const std::vector<double>& s, const std::vector<int>& y) {
  double wins = 0, pairs = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    for (std::size_t j = 0; j < s.size(); ++j)
      if (y[i] && !y[j]) wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0, pairs += 1;
  return wins / pairs;
}

// AP as the mean over positives of the precision at that positive's score.
double brute_ap(const std::vector<double>& s, const std::vector<int>& y) {
  double sum = 0, npos = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!y[i]) continue;
    double tp = 0, all = 0;
    for (std::size_t j = 0; j < s.size(); ++j)
      if (s[j] >= s[i]) all += 1, tp += y[j];
    sum += tp / all;
    npos += 1;
  }
  return sum / npos;
}

}  // namespace

TEST_CASE("ROC AUC: hand-computed cases and ties") {
  CHECK(roc_auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}) == doctest::Approx(0.75));  // scikit-learn's doc example
  CHECK(roc_auc({0.9, 0.8, 0.1, 0.2}, {1, 1, 0, 0}) == doctest::Approx(1.0));
  CHECK(roc_auc({0.1, 0.2, 0.9, 0.8}, {1, 1, 0, 0}) == doctest::Approx(0.0));
  CHECK(roc_auc({0.5, 0.5, 0.5, 0.5}, {1, 0, 1, 0}) == doctest::Approx(0.5));  // all tied
  CHECK(roc_auc({0.5, 0.5, 0.9, 0.1}, {1, 0, 1, 0}) == doctest::Approx(0.875));  // one tied pair of four
  CHECK(std::isnan(roc_auc({0.1, 0.2}, {1, 1})));  // one class only
  CHECK_THROWS_AS(roc_auc({0.1}, {1, 0}), InvalidArgument);
}

TEST_CASE("ROC curve and PR curve shapes") {
  const auto roc = roc_curve({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1});
  REQUIRE(roc.size() == 5);
  CHECK(roc.front().fpr == 0);
  CHECK(roc.back().fpr == 1);
  CHECK(roc.back().tpr == 1);
  CHECK(roc[2].threshold == doctest::Approx(0.4));
  CHECK(roc[2].fpr == doctest::Approx(0.5));
  CHECK(roc[2].tpr == doctest::Approx(0.5));
  CHECK(average_precision({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}) == doctest::Approx(0.8333333));  // scikit-learn doc
  const auto pr = pr_curve({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1});
  CHECK(pr.front().precision == 1.0);
  CHECK(pr.back().recall == 1.0);
}

TEST_CASE("AUC and AP agree with brute force on random scores with many ties") {
  std::mt19937 gen(5);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> s;
    std::vector<int> y;
    for (int i = 0; i < 60; ++i) {
      y.push_back(gen() % 3 == 0);
      s.push_back(static_cast<double>(gen() % 8) / 8 + 0.1 * y.back());  // coarse: many ties
    }
    if (std::count(y.begin(), y.end(), 1) == 0) continue;
    CHECK(roc_auc(s, y) == doctest::Approx(pairwise_auc(s, y)).epsilon(1e-12));
    CHECK(average_precision(s, y) == doctest::Approx(brute_ap(s, y)).epsilon(1e-12));
  }
}

TEST_CASE("calibration error") {
  std::vector<ReliabilityBin> bins;
  // Bin (0.8, 0.9]: confidence .85 twice, one right -> |0.5 - 0.85| = 0.35, weight 2/4.
  // Bin (0.9, 1.0]: confidence .95 twice, both right -> 0.05, weight 2/4.
  const double ece = expected_calibration_error({0.85, 0.85, 0.95, 0.95}, {1, 0, 1, 1}, 10, &bins);
  CHECK(ece == doctest::Approx(0.2));
  CHECK(bins[8].count == 2);
  CHECK(bins[8].accuracy == doctest::Approx(0.5));
  CHECK(bins[9].mean_confidence == doctest::Approx(0.95));
  CHECK_THROWS_AS(expected_calibration_error({1.5}, {1}, 10), InvalidArgument);
}

TEST_CASE("threshold selection") {
  const std::vector<double> s = {0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9};
  const std::vector<int> y = {0, 0, 0, 0, 1, 1, 1, 1};
  // Youden: at 0.4, tpr 1, fpr 0.25 (0.6 is above) -> J 0.75; at 0.7, tpr .75, fpr 0 -> J 0.75.
  // Ties go to the higher threshold.
  CHECK(select_threshold(s, y, ThresholdRule::Youden) == doctest::Approx(0.7));
  CHECK(select_threshold(s, y, ThresholdRule::TargetSensitivity, 1.0) == doctest::Approx(0.4));
  CHECK(select_threshold(s, y, ThresholdRule::TargetSensitivity, 0.5) == doctest::Approx(0.8));
  CHECK_THROWS_AS(select_threshold({0.2, 0.3}, {1, 1}, ThresholdRule::Youden), InvalidArgument);
}

TEST_CASE("Evaluator: confusion matrix and metrics at the threshold") {
  EvalOptions o;
  o.bootstrap = 0;
  o.threshold = 0.5;
  o.split = "holdout";
  Evaluator e({"NORMAL", "PNEUMONIA"}, o);
  // 3 normal (one called pneumonia), 5 pneumonia (one missed).
  const double p[] = {0.1, 0.2, 0.7, 0.9, 0.8, 0.6, 0.55, 0.3};
  const int y[] = {0, 0, 0, 1, 1, 1, 1, 1};
  for (int i = 0; i < 8; ++i) e.add({float(1 - p[i]), float(p[i])}, y[i], "p" + std::to_string(i));
  const Evaluation ev = e.evaluate();
  CHECK(ev.split == "holdout");
  CHECK(ev.count(0, 0) == 2);
  CHECK(ev.count(0, 1) == 1);
  CHECK(ev.count(1, 0) == 1);
  CHECK(ev.count(1, 1) == 4);
  CHECK(ev.accuracy.value == doctest::Approx(6.0 / 8));
  CHECK(ev.per_class[1].sensitivity.value == doctest::Approx(4.0 / 5));
  CHECK(ev.per_class[1].specificity.value == doctest::Approx(2.0 / 3));
  CHECK(ev.per_class[1].precision.value == doctest::Approx(4.0 / 5));
  CHECK(ev.per_class[1].f1.value == doctest::Approx(0.8));
  CHECK(ev.balanced_accuracy.value == doctest::Approx((4.0 / 5 + 2.0 / 3) / 2));
  CHECK(ev.auc.value == doctest::Approx(pairwise_auc({0.1, 0.2, 0.7, 0.9, 0.8, 0.6, 0.55, 0.3}, {0, 0, 0, 1, 1, 1, 1, 1})));
  CHECK(ev.to_json().find("\"split\": \"holdout\"") != std::string::npos);
  CHECK(ev.to_text().find("holdout split") != std::string::npos);

  // A stricter threshold moves the 0.55 and 0.6 cases to NORMAL.
  o.threshold = 0.65;
  Evaluator strict({"NORMAL", "PNEUMONIA"}, o);
  for (int i = 0; i < 8; ++i) strict.add({float(1 - p[i]), float(p[i])}, y[i], "p");
  CHECK(strict.evaluate().count(1, 0) == 3);
}

TEST_CASE("Evaluator: one class present gives NaN where undefined, not a crash") {
  EvalOptions o;
  o.bootstrap = 50;
  Evaluator e({"a", "b"}, o);
  e.add({0.8f, 0.2f}, 0, "x");
  e.add({0.3f, 0.7f}, 0, "y");
  const Evaluation ev = e.evaluate();
  CHECK(ev.accuracy.value == doctest::Approx(0.5));
  CHECK(std::isnan(ev.auc.value));
  CHECK(std::isnan(ev.per_class[1].sensitivity.value));
  CHECK(ev.roc.empty());
  CHECK(ev.to_json().find("null") != std::string::npos);
  CHECK_THROWS_AS(Evaluator({"a", "b"}).evaluate(), InvalidArgument);
  CHECK_THROWS_AS(e.add({0.5f}, 0, "z"), InvalidArgument);
  CHECK_THROWS_AS(e.add({0.5f, 0.5f}, 2, "z"), InvalidArgument);
}

TEST_CASE("Evaluator: multi-class uses argmax and macro one-vs-rest AUC") {
  EvalOptions o;
  o.bootstrap = 0;
  Evaluator e({"a", "b", "c"}, o);
  e.add({0.7f, 0.2f, 0.1f}, 0, "1");
  e.add({0.2f, 0.7f, 0.1f}, 1, "2");
  e.add({0.1f, 0.2f, 0.7f}, 2, "3");
  e.add({0.5f, 0.4f, 0.1f}, 1, "4");
  const Evaluation ev = e.evaluate();
  CHECK(ev.count(1, 0) == 1);
  CHECK(ev.accuracy.value == doctest::Approx(0.75));
  CHECK(ev.per_class[2].auc.value == doctest::Approx(1.0));
  CHECK(ev.auc.value > 0.8);
}

TEST_CASE("bootstrap resamples patients: one patient's many images do not narrow the interval") {
  EvalOptions o;
  o.bootstrap = 400;
  o.seed = 3;
  // Ten patients, each with 20 identical images: the effective sample is 10, not 200.
  Evaluator by_patient({"n", "p"}, o), by_image({"n", "p"}, o);
  for (int pt = 0; pt < 10; ++pt)
    for (int k = 0; k < 20; ++k) {
      const int label = pt % 2;
      const float score = (pt == 0 || pt == 1) ? 1.0f - label : (label ? 0.8f : 0.2f);  // patients 0,1 wrong
      by_patient.add({1 - score, score}, label, "pt" + std::to_string(pt));
      by_image.add({1 - score, score}, label, "img" + std::to_string(pt * 20 + k));
    }
  const Evaluation a = by_patient.evaluate(), b = by_image.evaluate();
  CHECK(a.accuracy.value == doctest::Approx(0.8));
  CHECK(a.accuracy.lo <= 0.8);
  CHECK(a.accuracy.hi >= 0.8);
  CHECK((a.accuracy.hi - a.accuracy.lo) > 1.8 * (b.accuracy.hi - b.accuracy.lo));
}

TEST_CASE("HTML report is self-contained and names the split") {
  EvalOptions o;
  o.bootstrap = 20;
  o.split = "validation (patient-disjoint)";
  Evaluator e({"NORMAL", "PNEUMONIA"}, o);
  for (int i = 0; i < 40; ++i) e.add({1 - i / 40.0f, i / 40.0f}, i > 15, "p" + std::to_string(i));
  const std::string html = html_report(e.evaluate(), {{1, 0.6, 0.5, 0.8, 0.7, 1e-3, 10}, {2, 0.4, 0.45, 0.85, 0.75, 5e-4, 10}});
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("validation (patient-disjoint)") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
  CHECK(html.find("https://") == std::string::npos);
}

TEST_CASE("threshold rules by name, and balanced is 0.5 whatever the scores") {
  const std::vector<double> s = {0.05, 0.1, 0.15, 0.2, 0.6, 0.7, 0.8, 0.95};
  const std::vector<int> l = {0, 0, 0, 0, 1, 1, 1, 1};
  CHECK(select_threshold(s, l, ThresholdRule::Youden) == doctest::Approx(0.6));  // the edge of the positives
  CHECK(select_threshold(s, l, ThresholdRule::Balanced) == 0.5);
  CHECK(select_threshold({0.9, 0.8}, {1, 1}, ThresholdRule::Balanced) == 0.5);  // needs no negatives
  for (auto r : {ThresholdRule::Youden, ThresholdRule::Balanced, ThresholdRule::TargetSensitivity})
    CHECK(parse_threshold_rule(to_string(r)) == r);
  CHECK(to_string(ThresholdRule::TargetSensitivity) == "target-sensitivity");
  CHECK_THROWS_WITH_AS(parse_threshold_rule("median"), doctest::Contains("'median'"), InvalidArgument);
}
