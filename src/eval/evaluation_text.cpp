// Evaluation as JSON (stable keys) and as a terminal table.
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eval/json_codec.hpp"
#include "util/file_util.hpp"
#include "xraykit/evaluator.hpp"

namespace xraykit {
using nlohmann::json;

namespace {

std::string pct(const Estimate& e, bool interval) {
  if (std::isnan(e.value)) return "n/a";
  if (!interval) return fmt::format("{:.1f}%", 100 * e.value);
  return fmt::format("{:.1f}% ({:.1f}-{:.1f})", 100 * e.value, 100 * e.lo, 100 * e.hi);
}

std::string dec(const Estimate& e, bool interval) {
  if (std::isnan(e.value)) return "n/a";
  if (!interval) return fmt::format("{:.3f}", e.value);
  return fmt::format("{:.3f} ({:.3f}-{:.3f})", e.value, e.lo, e.hi);
}

}  // namespace

std::string Evaluation::to_json() const {
  json j;
  j["split"] = split;
  j["classes"] = classes;
  j["images"] = images;
  j["patients"] = patients;
  j["threshold"] = threshold;
  j["bootstrap"] = {{"resamples", bootstrap}, {"unit", "patient"}, {"confidence", confidence}};
  j["confusion_matrix"] = {{"rows", "true class"}, {"columns", "predicted class"}};
  json rows = json::array();
  for (std::size_t t = 0; t < classes.size(); ++t) {
    json row = json::array();
    for (std::size_t p = 0; p < classes.size(); ++p) row.push_back(count(static_cast<int>(t), static_cast<int>(p)));
    rows.push_back(row);
  }
  j["confusion_matrix"]["counts"] = rows;
  j["accuracy"] = estimate_to_json(accuracy);
  j["balanced_accuracy"] = estimate_to_json(balanced_accuracy);
  j["auc"] = estimate_to_json(auc);
  j["ece"] = finite_or_null(ece);
  json pc = json::array();
  for (const auto& m : per_class)
    pc.push_back({{"name", m.name}, {"support", m.support}, {"sensitivity", estimate_to_json(m.sensitivity)},
                  {"specificity", estimate_to_json(m.specificity)}, {"precision", estimate_to_json(m.precision)}, {"f1", estimate_to_json(m.f1)},
                  {"auc", estimate_to_json(m.auc)}, {"average_precision", finite_or_null(m.average_precision)}});
  j["per_class"] = pc;
  json roc_j = json::array(), pr_j = json::array(), rel = json::array();
  for (const auto& r : roc) roc_j.push_back({finite_or_null(r.threshold), r.fpr, r.tpr});
  for (const auto& r : pr) pr_j.push_back({finite_or_null(r.threshold), r.recall, r.precision});
  for (const auto& b : reliability)
    rel.push_back({{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}, {"confidence", b.mean_confidence}, {"accuracy", b.accuracy}});
  j["roc"] = {{"columns", {"threshold", "fpr", "tpr"}}, {"points", roc_j}};
  j["pr"] = {{"columns", {"threshold", "recall", "precision"}}, {"points", pr_j}};
  j["reliability"] = rel;
  return j.dump(2);
}

void Evaluation::save_json(const std::string& path) const { write_file_atomic(path, to_json()); }

std::string Evaluation::to_text() const {
  const bool ci = bootstrap > 0;
  std::string out = fmt::format("Evaluation on the {} split: {} images from {} patients", split, images, patients);
  if (classes.size() == 2) out += fmt::format(", threshold {:.3f} on P({})", threshold, classes[1]);
  out += "\n";
  if (ci) out += fmt::format("{:.0f}% intervals from {} bootstrap resamples of patients\n", 100 * confidence, bootstrap);
  out += fmt::format("  {:<20} {}\n", "accuracy", pct(accuracy, ci));
  out += fmt::format("  {:<20} {}\n", "balanced accuracy", pct(balanced_accuracy, ci));
  out += fmt::format("  {:<20} {}\n", "ROC AUC", dec(auc, ci));
  out += fmt::format("  {:<20} {:.3f}\n", "calibration (ECE)", ece);
  out += fmt::format("\n  {:<16} {:>7} {:>24} {:>24} {:>24}\n", "class", "images", "sensitivity", "specificity", "precision");
  for (const auto& m : per_class)
    out += fmt::format("  {:<16} {:>7} {:>24} {:>24} {:>24}\n", m.name, m.support, pct(m.sensitivity, ci),
                       pct(m.specificity, ci), pct(m.precision, ci));
  out += "\n  confusion matrix (rows: true, columns: predicted)\n";
  out += fmt::format("  {:<16}", "");
  for (const auto& c : classes) out += fmt::format(" {:>12}", c);
  out += "\n";
  for (std::size_t t = 0; t < classes.size(); ++t) {
    out += fmt::format("  {:<16}", classes[t]);
    for (std::size_t p = 0; p < classes.size(); ++p) out += fmt::format(" {:>12}", count(static_cast<int>(t), static_cast<int>(p)));
    out += "\n";
  }
  return out;
}

}  // namespace xraykit
