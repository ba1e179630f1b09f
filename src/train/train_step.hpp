#pragma once
// One optimisation step of the training network and the Torch settings it runs under: the
// unit ResNetClassifier::fit repeats, kept apart so that bench_network can time exactly that
// step. Internal.
// Thread safety: TorchSettings sets Torch's intra-op thread count, which is process-wide (two
// fits at once on different models each set it; the last to finish restores its own value),
// and CPU autocast, which is per thread.
#include <torch/torch.h>

#include <memory>

#include "model/resnet.hpp"
#include "xraykit/classifier.hpp"

namespace xraykit {

/// Sets Torch's intra-op thread count and, for bf16, CPU autocast to bfloat16; restores both
/// however the scope ends.
struct TorchSettings {
  TorchSettings(int threads, bool bf16);
  ~TorchSettings();
  TorchSettings(const TorchSettings&) = delete;
  TorchSettings& operator=(const TorchSettings&) = delete;

 private:
  int previous_threads_;
  bool autocast_;
};

/// The optimiser TrainOptions asks for (SGD with momentum or AdamW), over all of `net`'s parameters.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(ResNet& net, const TrainOptions& o);

/// Cross-entropy of fp32 logits against class indices or class probabilities (mixup), the
/// mean weighted by the targets' class weights in both forms: LibTorch averages a weighted
/// loss on probability targets over the batch size instead, which would scale each mixed
/// batch's loss by its mix of classes.
torch::Tensor training_loss(const torch::Tensor& logits, const torch::Tensor& y,
                            const torch::nn::functional::CrossEntropyFuncOptions& options);

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

/// Forward, loss (in fp32, training_loss), backward and the optimiser's step on one batch
/// (`x` float32 NCHW, `y` int64 class indices or float32 N x K class probabilities); returns
/// the batch's loss. `bf16`: autocast is on (TorchSettings),
/// so its cache of bf16 weight copies is cleared after the update.
double train_step(ResNet& net, torch::optim::Optimizer& optimizer, const torch::Tensor& x, const torch::Tensor& y,
                  const torch::nn::functional::CrossEntropyFuncOptions& loss_options, bool bf16);

}  // namespace xraykit
