#pragma once
// Stochastic depth (Huang et al., ECCV 2016): while training, each residual block's branch is
// dropped for some of the batch's images, leaving only the shortcut, so that the network
// cannot lean on any one block; at inference every block is whole. Deeper blocks are dropped
// more often, by the paper's linear rule: block l of L (from 1) with probability p * l / L.
// Per image, as torchvision.ops.stochastic_depth's "row" mode; ConvNeXt's and timm's
// schedules give the first block 0 instead (p * (l - 1) / (L - 1)), so their p is not quite ours.
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

/// One training step's drop paths: drawn by draw(), removed when it goes out of scope, so
/// that no later forward pass (validation, prediction, a retried fit) sees them.
class DropPaths {
 public:
  explicit DropPaths(ResNet& net) : net_(net) {}
  ~DropPaths() {
    if (drawn_) clear_drop_paths(net_);
  }
  DropPaths(const DropPaths&) = delete;
  DropPaths& operator=(const DropPaths&) = delete;
  void draw(double p, int64_t batch, Rng& rng) {
    drawn_ = true;
    draw_drop_paths(net_, p, batch, rng);
  }

 private:
  ResNet& net_;
  bool drawn_ = false;
};

}  // namespace xraykit
