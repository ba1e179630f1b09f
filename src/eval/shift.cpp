// The shift benchmark: fixed, named image changes and the model's figures under each.
#include "xraykit/shift.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "xraykit/dataset.hpp"
#include "xraykit/error.hpp"

namespace xraykit {
namespace {

ImageShift intensity(std::string name, std::string description, double contrast, double gamma, double brightness) {
  ImageShift s{std::move(name), std::move(description), {}, 1};
  s.transform.contrast = contrast;
  s.transform.gamma = gamma;
  s.transform.brightness = brightness;
  return s;
}

ImageShift geometry(std::string name, std::string description, double zoom, double aspect, double shift,
                    double rotate) {
  ImageShift s{std::move(name), std::move(description), {}, 1};
  s.transform.zoom = zoom;
  s.transform.aspect = aspect;
  s.transform.dx = s.transform.dy = shift;
  s.transform.rotate_degrees = rotate;
  return s;
}

ImageShift blurred(double sigma) {
  ImageShift s{fmt::format("blur-{}", sigma), fmt::format("Gaussian blur, sigma {} px of the input", sigma), {}, 1};
  s.transform.blur = sigma;
  return s;
}

ImageShift noisy(double std) {
  ImageShift s{fmt::format("noise-{}", std), fmt::format("Gaussian noise, std {:.0f}% of full scale", 100 * std), {}, 1};
  s.transform.noise = std;
  s.transform.noise_seed = 7;
  return s;
}

ImageShift coarser(double factor) {
  return {fmt::format("resolution-{}", factor), fmt::format("{}x the resolution, scaled back up", factor), {}, factor};
}

}  // namespace

std::vector<ImageShift> standard_shifts() {
  std::vector<ImageShift> s;
  s.push_back({"none", "the validation images as they are", {}, 1});
  // One change at a time, mild then severe.
  s.push_back(intensity("contrast-0.7", "contrast reduced to 70% (flatter film)", 0.7, 1, 0));
  s.push_back(intensity("contrast-0.5", "contrast halved", 0.5, 1, 0));
  s.push_back(intensity("contrast-1.4", "contrast raised to 140%", 1.4, 1, 0));
  s.push_back(intensity("gamma-0.7", "gamma 0.7 (over-exposed look: brighter mid-tones)", 1, 0.7, 0));
  s.push_back(intensity("gamma-0.5", "gamma 0.5 (strongly over-exposed look)", 1, 0.5, 0));
  s.push_back(intensity("gamma-1.5", "gamma 1.5 (under-exposed look: darker mid-tones)", 1, 1.5, 0));
  s.push_back(intensity("gamma-2", "gamma 2 (strongly under-exposed look)", 1, 2, 0));
  s.push_back(intensity("brighter-0.1", "10% of full scale added", 1, 1, 0.1));
  s.push_back(intensity("darker-0.1", "10% of full scale taken away", 1, 1, -0.1));
  s.push_back(blurred(1));
  s.push_back(blurred(2));
  s.push_back(blurred(3));
  s.push_back(noisy(0.04));
  s.push_back(noisy(0.08));
  s.push_back(coarser(0.5));
  s.push_back(coarser(0.25));
  s.push_back(geometry("zoom-1.15", "15% closer framing (edges cropped)", 1.15, 1, 0, 0));
  s.push_back(geometry("zoom-1.3", "30% closer framing", 1.3, 1, 0, 0));
  s.push_back(geometry("zoom-0.87", "wider framing (13% smaller, edges repeated)", 0.87, 1, 0, 0));
  s.push_back(geometry("zoom-0.75", "much wider framing (25% smaller)", 0.75, 1, 0, 0));
  s.push_back(geometry("shift-0.08", "patient 8% off centre, right and down", 1, 1, 0.08, 0));
  s.push_back(geometry("shift-0.15", "patient 15% off centre", 1, 1, 0.15, 0));
  s.push_back(geometry("aspect-1.2", "20% wider (another film shape squashed to a square)", 1, 1.2, 0, 0));
  s.push_back(geometry("aspect-1.45", "45% wider", 1, 1.45, 0, 0));
  s.push_back(geometry("aspect-0.83", "20% taller", 1, 1 / 1.2, 0, 0));
  s.push_back(geometry("aspect-0.69", "45% taller", 1, 1 / 1.45, 0, 0));
  s.push_back(geometry("rotate-7", "rotated 7 degrees", 1, 1, 0, 7));
  s.push_back(geometry("rotate-15", "rotated 15 degrees", 1, 1, 0, 15));
  // Several changes together, as another machine and technician might make them.
  ImageShift soft = intensity("soft-film", "flatter, brighter and softer: contrast 0.7, gamma 0.8, blur 1.5", 0.7, 0.8, 0);
  soft.transform.blur = 1.5;
  s.push_back(soft);
  ImageShift hard = intensity("hard-film", "harsher and noisier: contrast 1.3, gamma 1.3, noise 3%", 1.3, 1.3, 0);
  hard.transform.noise = 0.03;
  hard.transform.noise_seed = 11;
  s.push_back(hard);
  s.push_back(geometry("reframed", "closer, taller and off centre: zoom 1.15, aspect 0.83, shift 0.06", 1.15, 1 / 1.2,
                       0.06, 0));
  return s;
}

Image apply_shift(const Image& square, const ImageShift& shift) {
  if (square.width != square.height || square.width < 1 ||
      square.pixels.size() != static_cast<std::size_t>(square.width) * square.height * square.channels)
    throw InvalidArgument("apply_shift needs a square image whose buffer matches its size");
  Image out = square;
  apply_transform(square.data(), square.width, square.channels, shift.transform, out.data());
  if (shift.resolution < 1) {
    if (!(shift.resolution > 0)) throw InvalidArgument(fmt::format("shift '{}': resolution must be in (0, 1]", shift.name));
    const int low = std::max(1, static_cast<int>(std::lround(square.width * shift.resolution)));
    out = resize(resize(out, low, low), square.width, square.height);
  }
  return out;
}

std::vector<ShiftResult> shift_benchmark(const ResNetClassifier& model, const Dataset& data,
                                         const std::vector<ImageShift>& shifts, EvalOptions options, bool tta) {
  options.threshold = model.threshold();
  const std::string split = options.split;
  std::vector<Image> originals;
  std::vector<int> labels;
  std::vector<std::string> patients;
  for (std::size_t i = 0; i < data.size(); ++i) {
    originals.push_back(data.image(i));
    labels.push_back(data.label(i));
    patients.push_back(data.patient(i));
  }
  DatasetOptions dopt;
  dopt.image_size = data.image_size();
  dopt.channels = data.channels();
  std::vector<ShiftResult> results;
  for (const ImageShift& shift : shifts) {
    std::vector<Image> images;
    images.reserve(originals.size());
    for (const Image& img : originals) images.push_back(apply_shift(img, shift));
    const Dataset shifted = Dataset::from_images(images, labels, data.classes(), patients, dopt);
    options.split = split + " + " + shift.name;
    results.push_back({shift, model.evaluate(shifted, options, tta)});
  }
  return results;
}

std::string shift_table(const std::vector<ShiftResult>& results) {
  auto pct = [](double v) { return std::isfinite(v) ? fmt::format("{:6.1f}", 100 * v) : std::string("     -"); };
  auto auc = [](double v) { return std::isfinite(v) ? fmt::format("{:.4f}", v) : std::string("     -"); };
  std::string out = fmt::format("{:<16} {:>6} {:>6} {:>6} {:>6}\n", "shift", "AUC", "acc%", "sens%", "spec%");
  double sums[4] = {0, 0, 0, 0}, worst[4];
  std::fill(std::begin(worst), std::end(worst), std::numeric_limits<double>::infinity());
  int shifted = 0;
  for (const auto& r : results) {
    const Evaluation& e = r.evaluation;
    const bool binary = e.classes.size() == 2;
    const double row[4] = {e.auc.value, e.accuracy.value,
                           binary ? e.per_class[1].sensitivity.value : std::numeric_limits<double>::quiet_NaN(),
                           binary ? e.per_class[1].specificity.value : std::numeric_limits<double>::quiet_NaN()};
    out += fmt::format("{:<16} {:>6} {} {} {}\n", r.shift.name, auc(row[0]), pct(row[1]), pct(row[2]), pct(row[3]));
    if (r.shift.name == "none") continue;
    ++shifted;
    for (int k = 0; k < 4; ++k) sums[k] += row[k], worst[k] = std::min(worst[k], row[k]);
  }
  if (shifted > 0) {
    out += fmt::format("{:<16} {:>6} {} {} {}\n", "mean (shifted)", auc(sums[0] / shifted), pct(sums[1] / shifted),
                       pct(sums[2] / shifted), pct(sums[3] / shifted));
    out += fmt::format("{:<16} {:>6} {} {} {}\n", "worst (shifted)", auc(worst[0]), pct(worst[1]), pct(worst[2]),
                       pct(worst[3]));
  }
  return out;
}

}  // namespace xraykit
