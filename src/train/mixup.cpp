#include "train/mixup.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace xraykit {

namespace {

// Gamma(shape, 1). Shapes below 1 use Gamma(shape + 1) * U^(1/shape).
double sample_gamma(double shape, Rng& rng) {
  if (shape < 1) return sample_gamma(shape + 1, rng) * std::pow(rng.uniform(), 1 / shape);
  const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  for (;;) {
    const double z = rng.normal();
    const double v = std::pow(1 + c * z, 3);
    if (v <= 0) continue;
    if (std::log(rng.uniform()) < 0.5 * z * z + d - d * v + d * std::log(v)) return d * v;
  }
}

torch::Tensor shuffled_order(int64_t n, Rng& rng) {
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  rng.shuffle(order);
  return torch::tensor(order, torch::kInt64);
}

torch::Tensor mixed_targets(const torch::Tensor& labels, const torch::Tensor& perm, int64_t classes, double lambda) {
  const torch::Tensor one_hot = torch::one_hot(labels, classes).to(torch::kFloat32);
  return one_hot * lambda + one_hot.index_select(0, perm) * (1 - lambda);
}

}  // namespace

double sample_beta(double alpha, Rng& rng) {
  const double a = sample_gamma(alpha, rng), b = sample_gamma(alpha, rng);
  return a + b > 0 ? a / (a + b) : 0.5;  // both can underflow to 0 for tiny alpha
}

MixedBatch mix_batch(const torch::Tensor& images, const torch::Tensor& labels, int64_t classes, double alpha, Rng& rng) {
  MixedBatch m;
  m.lambda = sample_beta(alpha, rng);
  const torch::Tensor perm = shuffled_order(images.size(0), rng);
  m.images = images * m.lambda + images.index_select(0, perm) * (1 - m.lambda);
  m.targets = mixed_targets(labels, perm, classes, m.lambda);
  return m;
}

MixedBatch cut_batch(const torch::Tensor& images, const torch::Tensor& labels, int64_t classes, double alpha, Rng& rng) {
  const double drawn = sample_beta(alpha, rng);
  const torch::Tensor perm = shuffled_order(images.size(0), rng);
  const int64_t h = images.size(2), w = images.size(3);
  // A box with the image's aspect whose area is the drawn share 1 - lambda (to the nearest
  // pixel), centred anywhere, then clipped at the borders.
  const double side = std::sqrt(1 - drawn);
  const auto cy = static_cast<int64_t>(rng.uniform() * static_cast<double>(h));
  const auto cx = static_cast<int64_t>(rng.uniform() * static_cast<double>(w));
  const int64_t box_h = std::lround(side * static_cast<double>(h)), box_w = std::lround(side * static_cast<double>(w));
  const int64_t y0 = std::clamp<int64_t>(cy - box_h / 2, 0, h), y1 = std::clamp<int64_t>(cy - box_h / 2 + box_h, 0, h);
  const int64_t x0 = std::clamp<int64_t>(cx - box_w / 2, 0, w), x1 = std::clamp<int64_t>(cx - box_w / 2 + box_w, 0, w);
  using torch::indexing::Slice;
  MixedBatch m;
  m.images = images.clone();
  m.images.index_put_({Slice(), Slice(), Slice(y0, y1), Slice(x0, x1)},
                      images.index({perm, Slice(), Slice(y0, y1), Slice(x0, x1)}));
  m.lambda = 1 - static_cast<double>((y1 - y0) * (x1 - x0)) / static_cast<double>(h * w);
  m.targets = mixed_targets(labels, perm, classes, m.lambda);
  return m;
}

}  // namespace xraykit
