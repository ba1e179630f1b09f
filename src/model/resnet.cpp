#include "model/resnet.hpp"

#include <fmt/format.h>

#include "xraykit/error.hpp"

namespace xraykit {
namespace nn = torch::nn;

namespace {

// A convolution without a bias. Unless `initialise`, its weight is left uninitialised for
// weights loaded next: LibTorch's constructor always draws kaiming_uniform_ from one thread's
// RNG, 0.15 s of loading a ResNet-18 here, so the module is made with one input and one output
// channel and then given its real shape.
nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding, bool initialise) {
  if (initialise) return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(padding).bias(false));
  nn::Conv2d c(nn::Conv2dOptions(1, 1, k).stride(stride).padding(padding).bias(false));
  c->options.in_channels(in).out_channels(out);
  torch::NoGradGuard no_grad;
  c->weight.set_data(torch::empty({out, in, k, k}));
  return c;
}

struct Layout {
  bool bottleneck;
  int blocks[4];
};

Layout layout(int depth) {
  switch (depth) {
    case 18: return {false, {2, 2, 2, 2}};
    case 34: return {false, {3, 4, 6, 3}};
    case 50: return {true, {3, 4, 6, 3}};
    case 101: return {true, {3, 4, 23, 3}};
    case 152: return {true, {3, 8, 36, 3}};
  }
  throw InvalidArgument(fmt::format("unknown ResNet depth {} (use 18, 34, 50, 101 or 152)", depth));
}

}  // namespace

int resnet_depth(const std::string& arch) {
  for (int d : {18, 34, 50, 101, 152})
    if (arch == fmt::format("resnet{}", d)) return d;
  throw InvalidArgument(
      fmt::format("unknown architecture '{}' (use resnet18, resnet34, resnet50, resnet101 or resnet152)", arch));
}

BlockImpl::BlockImpl(bool bottleneck_, int64_t in, int64_t planes, int64_t stride, bool initialise)
    : bottleneck(bottleneck_) {
  const int64_t expansion = bottleneck ? 4 : 1;
  auto conv = [initialise](int64_t in, int64_t out, int64_t k, int64_t stride) {
    return xraykit::conv(in, out, k, stride, k / 2, initialise);
  };
  if (bottleneck) {
    // torchvision's Bottleneck (v1.5) strides in the 3x3 convolution.
    conv1 = register_module("conv1", conv(in, planes, 1, 1));
    bn1 = register_module("bn1", nn::BatchNorm2d(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, stride));
    bn2 = register_module("bn2", nn::BatchNorm2d(planes));
    conv3 = register_module("conv3", conv(planes, planes * 4, 1, 1));
    bn3 = register_module("bn3", nn::BatchNorm2d(planes * 4));
  } else {
    conv1 = register_module("conv1", conv(in, planes, 3, stride));
    bn1 = register_module("bn1", nn::BatchNorm2d(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, 1));
    bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  }
  if (stride != 1 || in != planes * expansion)
    downsample = register_module(
        "downsample", nn::Sequential(conv(in, planes * expansion, 1, stride), nn::BatchNorm2d(planes * expansion)));
}

torch::Tensor BlockImpl::forward(torch::Tensor x) {
  torch::Tensor out = torch::relu(bn1(conv1(x)));
  out = bn2(conv2(out));
  if (bottleneck) out = bn3(conv3(torch::relu(out)));
  if (branch_scale.defined() && is_training()) out = out * branch_scale.to(out.options());
  const torch::Tensor identity = downsample ? downsample->forward(x) : x;
  return torch::relu(out + identity);
}

ResNetImpl::ResNetImpl(int depth_, int64_t in_channels, int64_t num_classes, bool initialise) : depth(depth_) {
  const Layout l = layout(depth);
  const int64_t expansion = l.bottleneck ? 4 : 1;
  conv1 = register_module("conv1", conv(in_channels, 64, 7, 2, 3, initialise));
  bn1 = register_module("bn1", nn::BatchNorm2d(64));
  int64_t in = 64;
  nn::Sequential* layers[4] = {&layer1, &layer2, &layer3, &layer4};
  for (int i = 0; i < 4; ++i) {
    const int64_t planes = 64 << i;
    nn::Sequential seq;
    for (int b = 0; b < l.blocks[i]; ++b) {
      seq->push_back(Block(l.bottleneck, in, planes, (b == 0 && i > 0) ? 2 : 1, initialise));
      in = planes * expansion;
    }
    *layers[i] = register_module(fmt::format("layer{}", i + 1), seq);
  }
  fc = register_module("fc", nn::Linear(512 * expansion, num_classes));

  if (!initialise) return;
  // torchvision's initialisation.
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
    }
  }
}

torch::Tensor ResNetImpl::activations_through(torch::Tensor x, int layer) {
  x = torch::relu(bn1(conv1(x)));
  x = torch::max_pool2d(x, 3, 2, 1);
  nn::Sequential layers[4] = {layer1, layer2, layer3, layer4};
  for (int i = 0; i < layer; ++i) x = layers[i]->forward(x);
  return x;
}

torch::Tensor ResNetImpl::logits_from_stage(torch::Tensor x, int layer) {
  nn::Sequential layers[4] = {layer1, layer2, layer3, layer4};
  for (int i = layer; i < 4; ++i) x = layers[i]->forward(x);
  return head(x);
}

torch::Tensor ResNetImpl::head(torch::Tensor f) {
  return fc(torch::adaptive_avg_pool2d(f, {1, 1}).flatten(1));
}

}  // namespace xraykit
