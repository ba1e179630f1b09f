#include "model/inference_net.hpp"

namespace xraykit {

bool cpu_has_fast_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has = __builtin_cpu_supports("avx512bf16");
  return has;
#else
  return false;
#endif
}

InferenceNet::InferenceNet(const ResNet& net, bool bf16) : bf16_(bf16), onednn_(at::hasMKLDNN()) {
  torch::NoGradGuard no_grad;
  stem_ = fold(*net->conv1, *net->bn1);
  for (const auto* layer : {&net->layer1, &net->layer2, &net->layer3, &net->layer4}) {
    for (const auto& child : (*layer)->children()) {
      const auto* b = child->as<BlockImpl>();
      Block block;
      block.convs.push_back(fold(*b->conv1, *b->bn1));
      block.convs.push_back(fold(*b->conv2, *b->bn2));
      if (b->bottleneck) block.convs.push_back(fold(*b->conv3, *b->bn3));
      if (b->downsample) {
        torch::nn::Sequential ds = b->downsample;
        block.has_downsample = true;
        block.downsample = fold(*ds[0]->as<torch::nn::Conv2dImpl>(), *ds[1]->as<torch::nn::BatchNorm2dImpl>());
      }
      blocks_.push_back(std::move(block));
    }
  }
  fc_weight_ = net->fc->weight.detach().clone();
  fc_bias_ = net->fc->bias.detach().clone();
}

InferenceNet::Conv InferenceNet::fold(const torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl& bn) const {
  // BN(conv(x)) = scale * conv(x) + shift, per output channel; scale goes into the weights.
  const torch::Tensor scale = bn.weight.detach() / torch::sqrt(bn.running_var + bn.options.eps());
  const torch::Tensor shift = bn.bias.detach() - bn.running_mean * scale;
  Conv c;
  c.stride = (*conv.options.stride())[0];
  c.padding = (*c10::get<torch::ExpandingArray<2>>(conv.options.padding()))[0];
  const torch::Tensor weight = (conv.weight.detach() * scale.view({-1, 1, 1, 1})).contiguous();
  const auto dtype = bf16_ ? torch::kBFloat16 : torch::kFloat32;
  if (onednn_) {
    // The bias stays fp32 in oneDNN's bf16 convolution (accumulation is fp32 anyway).
    c.weight = at::mkldnn_reorder_conv2d_weight(weight.to_mkldnn(dtype), {c.padding, c.padding}, {c.stride, c.stride}, {1, 1}, 1);
    c.bias = shift.contiguous().to_mkldnn();
  } else {
    c.weight = weight.to(dtype).contiguous(at::MemoryFormat::ChannelsLast);
    c.bias = shift.to(dtype);
  }
  return c;
}

torch::Tensor InferenceNet::run(const Conv& c, const torch::Tensor& x) const {
  if (onednn_) return at::mkldnn_convolution(x, c.weight, c.bias, {c.padding, c.padding}, {c.stride, c.stride}, {1, 1}, 1);
  return torch::conv2d(x, c.weight, c.bias, c.stride, c.padding);
}

torch::Tensor InferenceNet::forward(const torch::Tensor& batch, torch::Tensor* pooled_out) const {
  torch::NoGradGuard no_grad;
  const auto dtype = bf16_ ? torch::kBFloat16 : torch::kFloat32;
  torch::Tensor x = onednn_ ? batch.contiguous().to_mkldnn(dtype) : batch.contiguous(at::MemoryFormat::ChannelsLast).to(dtype);
  x = run(stem_, x).relu_();
  x = onednn_ ? at::mkldnn_max_pool2d(x, {3, 3}, {2, 2}, {1, 1}) : torch::max_pool2d(x, 3, 2, 1);
  for (const Block& b : blocks_) {
    torch::Tensor out = x;
    for (std::size_t i = 0; i < b.convs.size(); ++i) {
      out = run(b.convs[i], out);
      if (i + 1 < b.convs.size()) out.relu_();
    }
    x = out.add_(b.has_downsample ? run(b.downsample, x) : x).relu_();
  }
  const torch::Tensor pooled = onednn_ ? at::mkldnn_adaptive_avg_pool2d(x, {1, 1}).to_dense(torch::kFloat32).flatten(1)
                                       : x.mean({2, 3}).to(torch::kFloat32);
  if (pooled_out) *pooled_out = pooled;
  return torch::linear(pooled, fc_weight_, fc_bias_);
}

}  // namespace xraykit
