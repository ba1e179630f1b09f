#pragma once
// Temperature scaling (Guo et al. 2017, "On calibration of modern neural networks"): the one
// number T for which softmax(logits / T) fits held-out labels best (the lowest negative
// log-likelihood). Networks trained to low loss are over-confident; dividing by T > 1 tempers
// them without changing which class is most likely. Internal.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace xraykit {

/// T in [0.05, 20] minimising the mean NLL of `labels` under softmax(logits / T); 1 when
/// there are no samples. logits: N x K.
double fit_temperature(const torch::Tensor& logits, const std::vector<std::int64_t>& labels);

}  // namespace xraykit
