// The CSV of `xraykit predict --csv`: one home for its columns.
#include <cmath>

#include <fmt/format.h>

#include "util/file_util.hpp"
#include "xraykit/classifier.hpp"

namespace xraykit {

namespace {
// A file name comes from whoever named the file: one that starts like a formula would run as
// one when the CSV is opened in a spreadsheet (OWASP "CSV injection").
std::string spreadsheet_safe(const std::string& text) {
  const bool formula = !text.empty() && std::string("=+-@\t\r").find(text[0]) != std::string::npos;
  return csv_field(formula ? "'" + text : text);
}
}  // namespace

std::string predictions_csv_header(const std::vector<std::string>& classes) {
  std::string csv = "path,label";
  for (const auto& c : classes) csv += ",p_" + csv_field(c);  // "p_" first: never a formula
  return csv + ",ood_score,error\n";
}

std::string prediction_csv_row(const FilePrediction& r, std::size_t num_classes) {
  std::string csv = spreadsheet_safe(r.path) + ",";
  if (!r.ok) return csv + std::string(num_classes + 2, ',') + spreadsheet_safe(r.error) + "\n";
  const Prediction& p = r.prediction;
  csv += spreadsheet_safe(shown_label(p));  // class names come from folder names
  for (float v : p.probabilities) csv += fmt::format(",{:.6f}", v);
  csv += std::isnan(p.ood_score) ? ",," : fmt::format(",{:.4f},", p.ood_score);
  return csv + "\n";
}

void save_predictions_csv(const std::string& path, const std::vector<std::string>& classes,
                          const std::vector<FilePrediction>& results) {
  std::string csv = predictions_csv_header(classes);
  for (const FilePrediction& r : results) csv += prediction_csv_row(r, classes.size());
  write_file_atomic(path, csv);
}

}  // namespace xraykit
