#pragma once
// Mixup (Zhang et al., ICLR 2018) and CutMix (Yun et al., ICCV 2019): each training batch
// combined with a shuffled copy of itself, images and targets alike, so that the network
// learns soft transitions between classes instead of sharp cues. Mixup blends whole images;
// CutMix pastes one box of the partner image. Internal; TrainOptions::mixup and ::cutmix
// turn them on.
// Thread safety: pure functions of their arguments (the Rng is the caller's).
#include <torch/torch.h>

#include "util/rng.hpp"

namespace xraykit {

/// A draw from Beta(alpha, alpha), alpha > 0 (Marsaglia-Tsang gamma draws: the same for the
/// same Rng wherever the C math library rounds alike).
double sample_beta(double alpha, Rng& rng);

struct MixedBatch {
  torch::Tensor images;   ///< mixup: lambda * x + (1 - lambda) * x[perm]; cutmix: x with x[perm] in a box
  torch::Tensor targets;  ///< N x classes probabilities: lambda * own + (1 - lambda) * partner's
  double lambda = 1;      ///< the own image's share (cutmix: its share of the pixels)
};

/// Mixes an NCHW float batch and its int64 labels (in [0, classes)) with one lambda from
/// Beta(alpha, alpha) and one permutation, both drawn from `rng`.
MixedBatch mix_batch(const torch::Tensor& images, const torch::Tensor& labels, int64_t classes, double alpha, Rng& rng);

/// CutMix on the same inputs: a box covering a Beta(alpha, alpha)-drawn share 1 - lambda of
/// the image (its centre uniform, clipped at the borders) is copied from each partner; lambda
/// is then the share of pixels left the image's own, so the targets match what is seen.
MixedBatch cut_batch(const torch::Tensor& images, const torch::Tensor& labels, int64_t classes, double alpha, Rng& rng);

}  // namespace xraykit
