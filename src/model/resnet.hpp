#pragma once
// torchvision's ResNet in the LibTorch C++ frontend, with the same module tree and therefore
// the same parameter names ("layer1.0.conv1.weight", "layer2.0.downsample.0.weight", ...),
// so that state_dicts move between torchvision and xraykit unchanged. Internal header.
#include <torch/nn.h>

#include <string>

namespace xraykit {

struct BlockImpl : torch::nn::Module {
  /// initialise: as ResNetImpl's.
  BlockImpl(bool bottleneck, int64_t in, int64_t planes, int64_t stride, bool initialise = true);
  torch::Tensor forward(torch::Tensor x);

  bool bottleneck;
  /// Stochastic depth: while training, the residual branch is scaled per sample by this
  /// N x 1 x 1 x 1 tensor (0 drops it, leaving the shortcut); undefined = whole. Set for one
  /// step by train/stochastic_depth.hpp; not a parameter or buffer, so never saved.
  torch::Tensor branch_scale;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Block);

struct ResNetImpl : torch::nn::Module {
  /// depth: 18, 34, 50, 101 or 152.
  /// initialise: torchvision's weight initialisation; false leaves the convolutions'
  /// weights uninitialised, for weights loaded next.
  ResNetImpl(int depth, int64_t in_channels, int64_t num_classes, bool initialise = true);

  /// Output of layer4 (the last convolutional stage), before pooling.
  torch::Tensor features(torch::Tensor x) { return activations_through(x, 4); }
  /// Activations after the stem and layers 1..`layer` (0 = after the stem only).
  torch::Tensor activations_through(torch::Tensor x, int layer);
  /// Logits from the activations after `layer`.
  torch::Tensor logits_from_stage(torch::Tensor x, int layer);
  /// Logits from layer4's output.
  torch::Tensor head(torch::Tensor features);
  torch::Tensor forward(torch::Tensor x) { return head(features(x)); }

  int depth;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(ResNet);

/// Depth from a name like "resnet18"; InvalidArgument naming the name otherwise.
int resnet_depth(const std::string& arch);

}  // namespace xraykit
