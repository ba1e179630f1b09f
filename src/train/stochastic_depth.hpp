#pragma once
// Stochastic depth (Huang et al., ECCV 2016): while training, each residual block's branch is
// dropped for some of the batch's images, leaving only the shortcut, so that the network
// cannot lean on any one block; at inference every block is whole. Deeper blocks are dropped
// more often, as in torchvision's ResNet-style models: block l of L with probability p * l / L.
// Internal; TrainOptions::stochastic_depth turns it on.
// Thread safety: changes the network's blocks; call it where the training step may.
#include <cstdint>

#include "model/resnet.hpp"
#include "util/rng.hpp"

namespace xraykit {

/// Gives every block of `net` its per-image branch scale for one step of `batch` images:
/// 0 where dropped, 1 / (1 - p_l) where kept (so that the branch's expected output is
/// unchanged), drawn from `rng`. p in [0, 1).
void draw_drop_paths(ResNet& net, double p, int64_t batch, Rng& rng);

/// Removes the scales: every branch whole again.
void clear_drop_paths(ResNet& net);

}  // namespace xraykit
