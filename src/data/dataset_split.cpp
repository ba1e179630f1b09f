// Stratified, seeded, patient-disjoint splits. The unit that is assigned to a side is the
// patient, never the image: images of one child on both sides would make validation lie.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "util/rng.hpp"
#include "xraykit/dataset.hpp"
#include "xraykit/error.hpp"

namespace xraykit {
namespace {

struct Patient {
  std::vector<std::size_t> positions;
  int label = 0;  // majority label of the patient's images
};

// Patients grouped by class, each class's list shuffled by the seed.
std::vector<std::vector<Patient>> patients_by_class(const Dataset& d, std::uint64_t seed) {
  std::map<std::string, Patient> by_name;  // ordered: the shuffle alone decides the order
  for (std::size_t i = 0; i < d.size(); ++i) by_name[d.patient(i)].positions.push_back(i);
  std::vector<std::vector<Patient>> classes(d.num_classes());
  for (auto& [name, p] : by_name) {
    std::vector<int> votes(d.num_classes(), 0);
    for (std::size_t i : p.positions) ++votes[d.label(i)];
    p.label = static_cast<int>(std::max_element(votes.begin(), votes.end()) - votes.begin());
    classes[p.label].push_back(std::move(p));
  }
  Rng rng(seed);
  for (auto& c : classes) rng.shuffle(c);
  return classes;
}

std::size_t images_of(const std::vector<Patient>& ps) {
  std::size_t n = 0;
  for (const auto& p : ps) n += p.positions.size();
  return n;
}

Split make_split(const Dataset& d, const std::vector<std::size_t>& val_positions) {
  std::vector<bool> in_val(d.size(), false);
  for (std::size_t i : val_positions) in_val[i] = true;
  std::vector<std::size_t> train, val;
  for (std::size_t i = 0; i < d.size(); ++i) (in_val[i] ? val : train).push_back(i);
  return {d.subset(train), d.subset(val)};
}

}  // namespace

Split Dataset::split(double val_fraction, std::uint64_t seed) const {
  if (!(val_fraction > 0.0 && val_fraction < 1.0))
    throw InvalidArgument(fmt::format("validation fraction must be in (0, 1), not {}", val_fraction));
  const auto classes_ = patients_by_class(*this, seed);
  std::vector<std::size_t> val;
  for (std::size_t c = 0; c < classes_.size(); ++c) {
    const auto& ps = classes_[c];
    if (ps.empty()) continue;
    if (ps.size() < 2)
      throw DatasetError(fmt::format("class '{}' has only one patient; a patient-disjoint split needs two",
                                     classes()[c]));
    const double target = val_fraction * images_of(ps);
    std::size_t taken = 0, taken_patients = 0;
    // Greedy: take a patient whenever that brings the class's validation count closer to
    // its target; always leave at least one patient on each side.
    for (std::size_t k = 0; k < ps.size(); ++k) {
      const std::size_t n = ps[k].positions.size();
      const bool closer = std::abs(double(taken + n) - target) < std::abs(double(taken) - target);
      if ((closer || taken_patients == 0) && taken_patients + 1 < ps.size()) {
        val.insert(val.end(), ps[k].positions.begin(), ps[k].positions.end());
        taken += n;
        ++taken_patients;
      }
    }
  }
  return make_split(*this, val);
}

std::vector<Split> Dataset::kfold(int k, std::uint64_t seed) const {
  if (k < 2) throw InvalidArgument(fmt::format("k-fold needs k >= 2, not {}", k));
  const auto classes_ = patients_by_class(*this, seed);
  std::vector<std::vector<std::size_t>> folds(k);
  for (std::size_t c = 0; c < classes_.size(); ++c) {
    const auto& ps = classes_[c];
    if (ps.empty()) continue;
    if (ps.size() < static_cast<std::size_t>(k))
      throw DatasetError(fmt::format("class '{}' has {} patient(s), fewer than the {} folds", classes()[c],
                                     ps.size(), k));
    // Largest patients first into the fold that holds fewest images of this class.
    std::vector<const Patient*> order;
    for (const auto& p : ps) order.push_back(&p);
    std::stable_sort(order.begin(), order.end(), [](const Patient* a, const Patient* b) {
      return a->positions.size() > b->positions.size();
    });
    std::vector<std::size_t> load(k, 0), count(k, 0);
    for (std::size_t j = 0; j < order.size(); ++j) {
      // The first k patients seed one fold each, so that no fold lacks the class.
      const std::size_t f = j < static_cast<std::size_t>(k)
                                ? j
                                : std::min_element(load.begin(), load.end()) - load.begin();
      folds[f].insert(folds[f].end(), order[j]->positions.begin(), order[j]->positions.end());
      load[f] += order[j]->positions.size();
    }
  }
  std::vector<Split> out;
  for (int f = 0; f < k; ++f) out.push_back(make_split(*this, folds[f]));
  return out;
}

std::string describe_split(const Split& split) {
  std::set<std::string> train_patients, overlap;
  for (std::size_t i = 0; i < split.train.size(); ++i) train_patients.insert(split.train.patient(i));
  for (std::size_t i = 0; i < split.val.size(); ++i)
    if (train_patients.count(split.val.patient(i))) overlap.insert(split.val.patient(i));
  std::string out = "Split (patient-disjoint, stratified):\n";
  out += fmt::format("  {:<12} {:>8} {:>9}", "side", "images", "patients");
  for (const auto& c : split.train.classes()) out += fmt::format(" {:>18}", c);
  out += '\n';
  for (const auto* side : {&split.train, &split.val}) {
    const auto counts = side->class_counts();
    out += fmt::format("  {:<12} {:>8} {:>9}", side == &split.train ? "train" : "validation", side->size(),
                       side->num_patients());
    for (auto n : counts)
      out += fmt::format(" {:>18}", fmt::format("{} ({:.1f}%)", n, side->size() ? 100.0 * n / side->size() : 0.0));
    out += '\n';
  }
  const std::size_t total = split.train.size() + split.val.size();
  out += fmt::format("  validation share: {:.1f}% of images; patients on both sides: {}\n",
                     total ? 100.0 * split.val.size() / total : 0.0, overlap.size());
  return out;
}

}  // namespace xraykit
