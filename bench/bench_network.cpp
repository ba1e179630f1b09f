// The training network below the public API, to take apart levers that the public calls
// bundle: memory layout (NCHW or channels-last weights and activations) and precision (fp32
// or bf16 autocast), for the forward pass at batch 1 and 32 and for one training step as
// fit() runs it (forward, loss, backward, optimiser step). ResNet-18, 128 px, one channel,
// synthetic input, the training defaults' optimiser and thread count.
// What `predict` runs (the folded oneDNN copy) is BM_Predict in bench_model.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <string>

#include "model/resnet.hpp"
#include "train/train_step.hpp"
#include "util/threads.hpp"

namespace {

using namespace xraykit;

constexpr int kSize = 128;

ResNet network(bool channels_last) {
  torch::manual_seed(0);
  ResNet net(18, 1, 2);
  // What Python's model.to(memory_format=torch.channels_last) does: the 4-d weights only.
  if (channels_last)
    for (auto& p : net->parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  return net;
}

torch::Tensor input(int batch, bool channels_last) {
  const torch::Tensor x = torch::randn({batch, 1, kSize, kSize});
  return channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
}

std::string label(bool bf16, bool channels_last) {
  return std::string(bf16 ? "bf16" : "fp32") + (channels_last ? ", channels-last" : ", NCHW");
}

void BM_Forward(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const bool bf16 = state.range(1) != 0, channels_last = state.range(2) != 0;
  const TorchSettings settings(threads_or_default(TrainOptions{}.threads), bf16);
  ResNet net = network(channels_last);
  net->eval();
  const torch::NoGradGuard no_grad;
  const torch::Tensor x = input(batch, channels_last);
  for (auto _ : state) benchmark::DoNotOptimize(net->forward(x));
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(label(bf16, channels_last));
}

void BM_TrainStep(benchmark::State& state) {
  const bool bf16 = state.range(0) != 0, channels_last = state.range(1) != 0;
  const TrainOptions o;
  const TorchSettings settings(threads_or_default(o.threads), bf16);
  ResNet net = network(channels_last);
  net->train();
  const auto optimizer = make_optimizer(net, o);
  const torch::Tensor x = input(o.batch_size, channels_last);
  const torch::Tensor y = torch::randint(0, 2, {o.batch_size}, torch::kInt64);
  const torch::nn::functional::CrossEntropyFuncOptions loss;
  train_step(net, *optimizer, x, y, loss, bf16);  // the optimiser's state is allocated outside the timing
  for (auto _ : state) benchmark::DoNotOptimize(train_step(net, *optimizer, x, y, loss, bf16));
  state.SetItemsProcessed(state.iterations() * o.batch_size);
  state.SetLabel(label(bf16, channels_last));
}

}  // namespace

BENCHMARK(BM_Forward)
    ->ArgsProduct({{1, 32}, {0, 1}, {0, 1}})
    ->ArgNames({"batch", "bf16", "channels_last"})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1);
BENCHMARK(BM_TrainStep)
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->ArgNames({"bf16", "channels_last"})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3);

BENCHMARK_MAIN();
