#include "train/stochastic_depth.hpp"

#include <vector>

namespace xraykit {

namespace {

std::vector<BlockImpl*> blocks(ResNet& net) {
  std::vector<BlockImpl*> out;
  for (const auto& stage : {net->layer1, net->layer2, net->layer3, net->layer4})
    for (const auto& m : stage->children())
      if (auto* b = m->as<BlockImpl>()) out.push_back(b);
  return out;
}

}  // namespace

void draw_drop_paths(ResNet& net, double p, int64_t batch, Rng& rng) {
  const std::vector<BlockImpl*> all = blocks(net);
  for (std::size_t l = 0; l < all.size(); ++l) {
    const double drop = p * static_cast<double>(l + 1) / static_cast<double>(all.size());
    std::vector<float> scale(static_cast<std::size_t>(batch));
    for (float& s : scale) s = rng.chance(drop) ? 0.0f : static_cast<float>(1 / (1 - drop));
    all[l]->branch_scale = torch::tensor(scale).view({batch, 1, 1, 1});
  }
}

void clear_drop_paths(ResNet& net) {
  for (BlockImpl* b : blocks(net)) b->branch_scale = torch::Tensor();
}

}  // namespace xraykit
