#include "model/calibration.hpp"

#include <cmath>

namespace xraykit {

double fit_temperature(const torch::Tensor& logits, const std::vector<std::int64_t>& labels) {
  if (logits.size(0) == 0) return 1;
  const torch::Tensor z = logits.to(torch::kFloat64);
  const torch::Tensor y = torch::tensor(labels, torch::kInt64);
  auto nll = [&](double log_t) {
    return torch::nll_loss(torch::log_softmax(z / std::exp(log_t), 1), y).item<double>();
  };
  // The NLL is unimodal in log T: golden-section search, to a width of about 1e-4.
  const double golden = (std::sqrt(5.0) - 1) / 2;
  double lo = std::log(0.05), hi = std::log(20.0);
  double a = hi - golden * (hi - lo), b = lo + golden * (hi - lo);
  double fa = nll(a), fb = nll(b);
  for (int i = 0; i < 40; ++i) {
    if (fa < fb) {
      hi = b, b = a, fb = fa;
      a = hi - golden * (hi - lo), fa = nll(a);
    } else {
      lo = a, a = b, fa = fb;
      b = lo + golden * (hi - lo), fb = nll(b);
    }
  }
  return std::exp((lo + hi) / 2);
}

}  // namespace xraykit
