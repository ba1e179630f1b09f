#include "train/weight_average.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "xraykit/error.hpp"

namespace xraykit {

WeightAverage::WeightAverage(double decay) : decay_(decay) {}

void WeightAverage::restore(const NamedTensors& average) { average_ = clone_tensors(average); }

void WeightAverage::update(const NamedTensors& state, std::int64_t step) {
  torch::NoGradGuard no_grad;
  if (average_.empty()) {
    restore(state);
    return;
  }
  if (state.size() != average_.size())
    throw ModelError(fmt::format("the weight average holds {} tensors, the network {}", average_.size(), state.size()));
  const double d = std::min(decay_, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
  for (std::size_t i = 0; i < state.size(); ++i) {
    torch::Tensor& avg = average_[i].second;
    const torch::Tensor& now = state[i].second;
    if (average_[i].first != state[i].first || avg.sizes() != now.sizes())
      throw ModelError(fmt::format("the weight average's '{}' does not match the network's '{}'", average_[i].first,
                                   state[i].first));
    if (avg.is_floating_point()) avg.mul_(d).add_(now.detach(), 1 - d);
    else avg.copy_(now);
  }
}

}  // namespace xraykit
