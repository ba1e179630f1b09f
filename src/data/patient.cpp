// Patient identity from file names of the Kermany et al. chest X-ray set.
#include <regex>

#include "xraykit/dataset.hpp"

namespace xraykit {

std::string patient_from_filename(const std::string& filename) {
  // Order matters: NORMAL2-IM-... also contains IM-NNNN.
  static const std::regex rules[] = {
      std::regex(R"(^(person\d+)_(bacteria|virus))", std::regex::icase),
      std::regex(R"(^(NORMAL2-IM-\d+)-\d+)", std::regex::icase),
      std::regex(R"(^(IM-\d+)-\d+)", std::regex::icase),
  };
  std::smatch m;
  for (const auto& rule : rules)
    if (std::regex_search(filename, m, rule)) return m[1].str();
  return "";
}

}  // namespace xraykit
