// The CSV of `xraykit predict --csv`: one home for its columns.
#include <cmath>

#include <fmt/format.h>

#include "util/file_util.hpp"
#include "xraykit/classifier.hpp"

namespace xraykit {

void save_predictions_csv(const std::string& path, const std::vector<std::string>& classes,
                          const std::vector<FilePrediction>& results) {
  std::string csv = "path,label";
  for (const auto& c : classes) csv += ",p_" + csv_field(c);
  csv += ",ood_score,error\n";
  for (const FilePrediction& r : results) {
    csv += csv_field(r.path) + ",";
    if (!r.ok) {
      csv += std::string(classes.size() + 2, ',') + csv_field(r.error) + "\n";
      continue;
    }
    const Prediction& p = r.prediction;
    csv += csv_field(shown_label(p));
    for (float v : p.probabilities) csv += fmt::format(",{:.6f}", v);
    csv += std::isnan(p.ood_score) ? ",," : fmt::format(",{:.4f},", p.ood_score);
    csv += "\n";
  }
  write_file_atomic(path, csv);
}

}  // namespace xraykit
