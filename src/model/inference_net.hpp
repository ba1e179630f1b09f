#pragma once
// InferenceNet: a frozen, inference-only copy of a ResNet, built for speed. Internal.
//
// Why: eval-mode inference needs neither batch-norm as a separate pass nor fp32 everywhere.
// Each BatchNorm is folded into the convolution before it (one conv with a bias instead of
// conv + normalise); weights are reordered once into oneDNN's blocked layout and activations
// stay in oneDNN tensors from the first convolution to the pooling, so no call reorders a
// weight or converts a layout (28% more images/s than channels-last ATen tensors at batch 32,
// 128 px, measured in bench_model); on CPUs with AVX512-BF16 all of it runs in bfloat16.
// Builds without oneDNN fall back to channels-last ATen convolutions. The exact fp32 network stays
// in ResNetClassifier for training, Grad-CAM, logits() and torchvision parity.
// Thread safety: immutable after construction; forward() may run from many threads at once.
#include <torch/torch.h>

#include <vector>

#include "model/resnet.hpp"
#include "xraykit/classifier.hpp"

namespace xraykit {

class InferenceNet {
 public:
  /// Snapshots `net`'s current weights (the ResNet may train on afterwards).
  InferenceNet(const ResNet& net, bool bf16);
  /// fp32 logits of a float32 NCHW batch; `pooled` (optional) receives the fp32 features
  /// the final layer reads.
  torch::Tensor forward(const torch::Tensor& batch, torch::Tensor* pooled = nullptr) const;
  bool bf16() const { return bf16_; }

 private:
  struct Conv {
    torch::Tensor weight, bias;
    int64_t stride = 1, padding = 0;
  };
  struct Block {
    std::vector<Conv> convs;  // 2 (basic) or 3 (bottleneck)
    bool has_downsample = false;
    Conv downsample;
  };
  Conv fold(const torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl& bn) const;
  torch::Tensor run(const Conv& c, const torch::Tensor& x) const;

  bool bf16_;
  bool onednn_;  // weights and activations are oneDNN tensors
  Conv stem_;
  std::vector<Block> blocks_;
  torch::Tensor fc_weight_, fc_bias_;
};

}  // namespace xraykit
