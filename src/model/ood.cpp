#include "model/ood.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "xraykit/error.hpp"

namespace xraykit {

namespace {

// Ledoit-Wolf shrinkage intensity (Ledoit & Wolf 2004) of the covariance of the centred rows
// of x towards its mean variance. Fewer images than feature dimensions, or near-constant
// features, make the raw covariance singular and every new image look far away; the
// intensity grows as the estimate gets noisier. At least kMinShrinkage.
double ledoit_wolf(const torch::Tensor& x, const torch::Tensor& cov) {
  constexpr double kMinShrinkage = 0.01;
  const double n = static_cast<double>(x.size(0));
  const double mu = cov.diagonal().mean().item<double>();
  const double d2 = (cov - mu * torch::eye(cov.size(0), torch::kFloat64)).pow(2).sum().item<double>();
  // sum_k ||x_k x_k^T - S||_F^2 = sum_k ||x_k||^4 - 2 sum_k x_k^T S x_k + n ||S||_F^2
  const double fourth = x.pow(2).sum(1).pow(2).sum().item<double>();
  const double quad = (x.mm(cov) * x).sum().item<double>();
  const double b2 = std::min(d2, (fourth - 2 * quad + n * cov.pow(2).sum().item<double>()) / (n * n));
  return d2 > 0 ? std::clamp(b2 / d2, kMinShrinkage, 1.0) : 1.0;
}

}  // namespace

OodCheck OodCheck::fit(const torch::Tensor& features, const std::vector<std::int64_t>& labels, int classes) {
  if (features.dim() != 2 || features.size(0) != static_cast<std::int64_t>(labels.size()))
    throw InvalidArgument("out-of-distribution fit: one feature row per label needed");
  const torch::Tensor f = features.to(torch::kFloat64);
  const torch::Tensor y = torch::tensor(labels, torch::kInt64);
  const std::int64_t d = f.size(1);
  OodCheck c;
  c.means_ = torch::zeros({classes, d}, torch::kFloat64);
  torch::Tensor centred = torch::empty_like(f);
  for (int k = 0; k < classes; ++k) {
    const torch::Tensor mask = y == k;
    const std::int64_t n = mask.sum().item<std::int64_t>();
    if (n < 2) throw InvalidArgument(fmt::format("out-of-distribution fit: class {} has {} image(s), at least 2 needed", k, n));
    c.means_[k] = f.index({mask}).mean(0);
    centred.index_put_({mask}, f.index({mask}) - c.means_[k]);
  }
  torch::Tensor cov = centred.t().mm(centred) / static_cast<double>(f.size(0));
  const double mean_variance = cov.diagonal().mean().item<double>();
  const double shrinkage = ledoit_wolf(centred, cov);
  cov = (1 - shrinkage) * cov + shrinkage * std::max(mean_variance, 1e-12) * torch::eye(d, torch::kFloat64);
  // Rounded as the model file stores them, so a loaded model scores exactly as the one saved.
  c.means_ = c.means_.to(torch::kFloat32).to(torch::kFloat64);
  c.precision_ = torch::inverse(cov).to(torch::kFloat32).to(torch::kFloat64);
  return c;
}

torch::Tensor OodCheck::distances(const torch::Tensor& features) const {
  const torch::Tensor f = features.to(torch::kFloat64);
  torch::Tensor best;
  for (std::int64_t k = 0; k < means_.size(0); ++k) {
    const torch::Tensor diff = f - means_[k];
    const torch::Tensor d2 = (diff.mm(precision_) * diff).sum(1);
    best = best.defined() ? torch::minimum(best, d2) : d2;
  }
  return best.clamp_min(0).sqrt();
}

void OodCheck::set_limit(const torch::Tensor& distances, double quantile) {
  if (!(quantile > 0 && quantile <= 1) || distances.numel() == 0)
    throw InvalidArgument("out-of-distribution limit: need distances and a quantile in (0, 1]");
  limit_ = torch::quantile(distances.to(torch::kFloat64), quantile).item<double>();
  quantile_ = quantile;
  if (!(limit_ > 0)) throw InvalidArgument("out-of-distribution limit: the distances are all zero");
}

std::vector<float> OodCheck::scores(const torch::Tensor& features) const {
  if (!fitted()) return std::vector<float>(static_cast<std::size_t>(features.size(0)), std::numeric_limits<float>::quiet_NaN());
  const torch::Tensor s = (distances(features) / limit_).to(torch::kFloat32).contiguous();
  return {s.data_ptr<float>(), s.data_ptr<float>() + s.numel()};
}

NamedTensors OodCheck::to_tensors() const {
  return {{"means", means_.to(torch::kFloat32)},
          {"precision", precision_.to(torch::kFloat32)},
          {"limit", torch::tensor({static_cast<float>(limit_)})},
          {"quantile", torch::tensor({static_cast<float>(quantile_)})}};
}

OodCheck OodCheck::from_tensors(const NamedTensors& tensors, int classes, std::int64_t dims, const std::string& origin) {
  std::map<std::string, torch::Tensor> t(tensors.begin(), tensors.end());
  auto need = [&](const std::string& name, std::vector<std::int64_t> shape) {
    const auto it = t.find(name);
    if (it == t.end() || it->second.sizes().vec() != shape || it->second.scalar_type() != torch::kFloat32 ||
        !torch::isfinite(it->second).all().item<bool>())
      throw ModelError(fmt::format("{}: out-of-distribution check: '{}' missing, of the wrong shape or not finite", origin, name));
    return it->second.to(torch::kFloat64);
  };
  OodCheck c;
  c.means_ = need("means", {classes, dims});
  c.precision_ = need("precision", {dims, dims});
  c.limit_ = need("limit", {1}).item<double>();
  c.quantile_ = need("quantile", {1}).item<double>();
  if (!(c.limit_ > 0) || !(c.quantile_ > 0 && c.quantile_ <= 1))
    throw ModelError(fmt::format("{}: out-of-distribution check: limit {} or quantile {} out of range", origin, c.limit_, c.quantile_));
  return c;
}

}  // namespace xraykit
