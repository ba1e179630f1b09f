#pragma once
// Mixup (Zhang et al., ICLR 2018): each training batch blended with a shuffled copy of
// itself, images and targets alike, so that the network learns soft transitions between
// classes instead of sharp cues. Internal; TrainOptions::mixup turns it on.
// Thread safety: pure functions of their arguments (the Rng is the caller's).
#include <torch/torch.h>

#include "util/rng.hpp"

namespace xraykit {

/// A draw from Beta(alpha, alpha), alpha > 0 (Marsaglia-Tsang gamma draws: the same for the
/// same Rng wherever the C math library rounds alike).
double sample_beta(double alpha, Rng& rng);

struct MixedBatch {
  torch::Tensor images;   ///< lambda * x + (1 - lambda) * x[perm]
  torch::Tensor targets;  ///< N x classes probabilities, mixed the same way
  double lambda = 1;
};

/// Mixes an NCHW float batch and its int64 labels (in [0, classes)) with one lambda from
/// Beta(alpha, alpha) and one permutation, both drawn from `rng`.
MixedBatch mix_batch(const torch::Tensor& images, const torch::Tensor& labels, int64_t classes, double alpha, Rng& rng);

}  // namespace xraykit
