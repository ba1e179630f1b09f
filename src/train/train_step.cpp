#include "train/train_step.hpp"

#include <ATen/autocast_mode.h>

namespace xraykit {

TorchSettings::TorchSettings(int threads, bool bf16) : previous_threads_(torch::get_num_threads()), autocast_(bf16) {
  torch::set_num_threads(threads);
  if (bf16) {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
}

TorchSettings::~TorchSettings() {
  torch::set_num_threads(previous_threads_);
  if (autocast_) {
    at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(ResNet& net, const TrainOptions& o) {
  if (o.optimizer == Optimizer::Sgd)
    return std::make_unique<torch::optim::SGD>(
        net->parameters(), torch::optim::SGDOptions(o.learning_rate).momentum(o.momentum).weight_decay(o.weight_decay));
  return std::make_unique<torch::optim::AdamW>(net->parameters(),
                                               torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& g : optimizer.param_groups()) g.options().set_lr(lr);
}

torch::Tensor training_loss(const torch::Tensor& logits, const torch::Tensor& y,
                            const torch::nn::functional::CrossEntropyFuncOptions& options) {
  namespace F = torch::nn::functional;
  if (!y.is_floating_point() || !options.weight().defined()) return F::cross_entropy(logits, y, options);
  F::CrossEntropyFuncOptions summed = options;
  summed.reduction(torch::kSum);
  return F::cross_entropy(logits, y, summed) / y.matmul(options.weight()).sum();
}

double train_step(ResNet& net, torch::optim::Optimizer& optimizer, const torch::Tensor& x, const torch::Tensor& y,
                  const torch::nn::functional::CrossEntropyFuncOptions& loss_options, bool bf16) {
  optimizer.zero_grad();
  const torch::Tensor loss = training_loss(net->forward(x).to(torch::kFloat32), y, loss_options);
  loss.backward();
  optimizer.step();
  // Autocast caches the bf16 copy of each weight until told otherwise; without this the
  // next forward pass would run on the weights of the first step (Python's torch.autocast
  // clears the cache at every context exit for the same reason).
  if (bf16) at::autocast::clear_cache();
  return loss.item<double>();
}

}  // namespace xraykit
