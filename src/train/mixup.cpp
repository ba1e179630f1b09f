#include "train/mixup.hpp"

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

}  // namespace

double sample_beta(double alpha, Rng& rng) {
  const double a = sample_gamma(alpha, rng), b = sample_gamma(alpha, rng);
  return a + b > 0 ? a / (a + b) : 0.5;  // both can underflow to 0 for tiny alpha
}

MixedBatch mix_batch(const torch::Tensor& images, const torch::Tensor& labels, int64_t classes, double alpha, Rng& rng) {
  MixedBatch m;
  m.lambda = sample_beta(alpha, rng);
  std::vector<int64_t> order(static_cast<std::size_t>(images.size(0)));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  rng.shuffle(order);
  const torch::Tensor perm = torch::tensor(order, torch::kInt64);
  const torch::Tensor one_hot = torch::one_hot(labels, classes).to(torch::kFloat32);
  m.images = images * m.lambda + images.index_select(0, perm) * (1 - m.lambda);
  m.targets = one_hot * m.lambda + one_hot.index_select(0, perm) * (1 - m.lambda);
  return m;
}

}  // namespace xraykit
