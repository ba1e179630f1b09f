// Dataset views: accessors, counts, batches and summaries over the shared storage.
#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "data/dataset_storage.hpp"
#include "xraykit/error.hpp"

namespace xraykit {

Dataset DatasetBuilder::make(Dataset::Storage storage) {
  std::vector<std::size_t> index(storage.paths.size());
  std::iota(index.begin(), index.end(), 0);
  return Dataset(std::make_shared<const Dataset::Storage>(std::move(storage)), std::move(index));
}

Dataset::Dataset() : storage_(std::make_shared<const Storage>()) {}

Dataset::Dataset(std::shared_ptr<const Storage> storage, std::vector<std::size_t> index)
    : storage_(std::move(storage)), index_(std::move(index)) {}

const std::vector<std::string>& Dataset::classes() const { return storage_->classes; }
int Dataset::image_size() const { return storage_->image_size; }
int Dataset::channels() const { return storage_->channels; }

namespace {
std::size_t checked(const std::vector<std::size_t>& index, std::size_t i) {
  if (i >= index.size())
    throw InvalidArgument(fmt::format("sample {} out of range (dataset has {})", i, index.size()));
  return index[i];
}
}  // namespace

const std::string& Dataset::path(std::size_t i) const { return storage_->paths[checked(index_, i)]; }
int Dataset::label(std::size_t i) const { return storage_->labels[checked(index_, i)]; }
const std::string& Dataset::patient(std::size_t i) const { return storage_->patients[checked(index_, i)]; }
const std::string& Dataset::view_position(std::size_t i) const { return storage_->views[checked(index_, i)]; }
std::size_t Dataset::id(std::size_t i) const { return checked(index_, i); }
const std::uint8_t* Dataset::pixels(std::size_t i) const {
  return storage_->pixels.data() + checked(index_, i) * storage_->image_bytes();
}

Image Dataset::image(std::size_t i) const {
  Image img;
  img.width = img.height = image_size();
  img.channels = channels();
  const std::uint8_t* p = pixels(i);
  img.pixels.assign(p, p + storage_->image_bytes());
  return img;
}

std::vector<std::int64_t> Dataset::class_counts() const {
  std::vector<std::int64_t> counts(classes().size(), 0);
  for (std::size_t k : index_) ++counts[storage_->labels[k]];
  return counts;
}

std::vector<std::int64_t> Dataset::patient_counts() const {
  std::vector<std::set<std::string>> seen(classes().size());
  for (std::size_t k : index_) seen[storage_->labels[k]].insert(storage_->patients[k]);
  std::vector<std::int64_t> counts;
  for (const auto& s : seen) counts.push_back(static_cast<std::int64_t>(s.size()));
  return counts;
}

std::size_t Dataset::num_patients() const {
  std::set<std::string> seen;
  for (std::size_t k : index_) seen.insert(storage_->patients[k]);
  return seen.size();
}

std::vector<float> Dataset::class_weights() const {
  const auto counts = class_counts();
  std::vector<float> w(counts.size(), 0.0f);
  for (std::size_t c = 0; c < counts.size(); ++c)
    if (counts[c] > 0) w[c] = static_cast<float>(size()) / (counts.size() * counts[c]);
  return w;
}

const std::vector<SkippedFile>& Dataset::skipped() const { return storage_->skipped; }
std::size_t Dataset::ignored() const { return storage_->ignored; }
std::vector<std::string> Dataset::warnings() const { return storage_->warnings; }

Dataset Dataset::subset(const std::vector<std::size_t>& positions) const {
  std::vector<std::size_t> index;
  index.reserve(positions.size());
  for (std::size_t p : positions) index.push_back(checked(index_, p));
  return Dataset(storage_, std::move(index));
}

void normalize_into(const std::uint8_t* hwc, int height, int width, int channels,
                    const Normalization& norm, float* chw_out) {
  if (norm.mean.empty() || norm.stddev.empty())
    throw InvalidArgument("normalisation needs at least one mean and one std value");
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  for (int c = 0; c < channels; ++c) {
    const float mean = norm.mean[std::min<std::size_t>(c, norm.mean.size() - 1)];
    const float sd = norm.stddev[std::min<std::size_t>(c, norm.stddev.size() - 1)];
    if (!(sd > 0)) throw InvalidArgument("normalisation std must be positive");
    const float scale = 1.0f / (255.0f * sd), shift = -mean / sd;
    float* out = chw_out + c * plane;
    for (std::size_t i = 0; i < plane; ++i) out[i] = hwc[i * channels + c] * scale + shift;
  }
}

Batch Dataset::batch(const std::vector<std::size_t>& positions, const Normalization& norm) const {
  Batch b;
  b.n = static_cast<int>(positions.size());
  b.channels = channels();
  b.height = b.width = image_size();
  const std::size_t per = static_cast<std::size_t>(b.channels) * b.height * b.width;
  b.images.resize(per * positions.size());
  for (std::size_t j = 0; j < positions.size(); ++j) {
    normalize_into(pixels(positions[j]), b.height, b.width, b.channels, norm, b.images.data() + j * per);
    b.labels.push_back(label(positions[j]));
    b.ids.push_back(id(positions[j]));
  }
  return b;
}

std::string Dataset::summary() const {
  const auto counts = class_counts();
  std::string parts;
  for (std::size_t c = 0; c < counts.size(); ++c)
    parts += fmt::format("{}{} {}", c ? ", " : "", counts[c], classes()[c]);
  return fmt::format("{} images ({}) from {} patients, {}x{}x{}; {} skipped, {} ignored", size(), parts,
                     num_patients(), image_size(), image_size(), channels(), skipped().size(), ignored());
}

namespace {
// "PA 12, AP 3" over the images that carry a DICOM view position; empty when none does.
std::string view_counts(const Dataset& d) {
  std::map<std::string, std::size_t> counts;
  for (std::size_t i = 0; i < d.size(); ++i)
    if (!d.view_position(i).empty()) ++counts[d.view_position(i)];
  std::string out;
  for (const auto& [view, n] : counts) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", view, n);
  return out;
}
}  // namespace

std::string Dataset::detailed_summary() const {
  std::string out = fmt::format("Dataset: {}\n", storage_->source);
  out += fmt::format("  images {}, patients {}, classes {}, input {}x{}, {} channel(s)\n", size(),
                     num_patients(), num_classes(), image_size(), image_size(), channels());
  const auto counts = class_counts();
  const auto patients = patient_counts();
  const auto weights = class_weights();
  out += fmt::format("  {:<20} {:>8} {:>7} {:>9} {:>8}\n", "class", "images", "share", "patients", "weight");
  for (std::size_t c = 0; c < counts.size(); ++c)
    out += fmt::format("  {:<20} {:>8} {:>6.1f}% {:>9} {:>8.3f}\n", classes()[c], counts[c],
                       size() ? 100.0 * counts[c] / size() : 0.0, patients[c], weights[c]);
  const std::string views = view_counts(*this);
  if (!views.empty()) out += fmt::format("  DICOM view positions: {}\n", views);
  out += fmt::format("  ignored (hidden or not an image): {}\n", ignored());
  out += fmt::format("  skipped: {}\n", skipped().size());
  for (const auto& s : skipped()) out += fmt::format("    {}: {}\n", s.path, s.reason);
  for (const auto& w : warnings()) out += fmt::format("  warning: {}\n", w);
  return out;
}

}  // namespace xraykit
