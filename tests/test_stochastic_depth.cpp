// Stochastic depth below the public API (its source and the ResNet's are compiled into this
// test program: the library hides their symbols). Torch's headers come first: doctest's
// CHECK must replace c10's (see test_mixup.cpp).
#include "train/stochastic_depth.hpp"
#undef CHECK

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace xraykit;

namespace {

std::vector<BlockImpl*> all_blocks(ResNet& net) {
  std::vector<BlockImpl*> out;
  for (const auto& stage : {net->layer1, net->layer2, net->layer3, net->layer4})
    for (const auto& m : stage->children()) out.push_back(m->as<BlockImpl>());
  return out;
}

}  // namespace

TEST_CASE("stochastic depth: block l of L drops each image's branch with probability p * l / L, and keeps the mean") {
  ResNet net(18, 1, 2);
  Rng rng(5);
  const double p = 0.4;
  const int64_t n = 20000;
  draw_drop_paths(net, p, n, rng);
  const std::vector<BlockImpl*> blocks = all_blocks(net);
  REQUIRE(blocks.size() == 8);
  for (std::size_t l = 0; l < blocks.size(); ++l) {
    CAPTURE(l);
    const double drop = p * static_cast<double>(l + 1) / 8;
    const torch::Tensor s = blocks[l]->branch_scale;
    REQUIRE(s.defined());
    REQUIRE(s.sizes() == torch::IntArrayRef({n, 1, 1, 1}));
    const torch::Tensor dropped = s.eq(0);
    // Every image is either dropped or kept whole at 1 / (1 - drop): nothing in between.
    CHECK(torch::logical_or(dropped, s.sub(1 / (1 - drop)).abs().lt(1e-5)).all().item<bool>());
    // Within 4 standard errors of a Bernoulli(drop) mean over n images.
    const double bound = 4 * std::sqrt(drop * (1 - drop) / static_cast<double>(n));
    CHECK(std::abs(dropped.to(torch::kFloat64).mean().item<double>() - drop) < bound);
    CHECK(std::abs(s.to(torch::kFloat64).mean().item<double>() - 1) < bound / (1 - drop));
  }
  clear_drop_paths(net);
  for (BlockImpl* b : blocks) CHECK_FALSE(b->branch_scale.defined());
}

TEST_CASE("stochastic depth: a dropped branch leaves the shortcut, a kept one is scaled, and evaluation ignores both") {
  torch::manual_seed(3);
  ResNet net(18, 1, 2);
  BlockImpl* block = all_blocks(net)[2];  // layer2.0: it has a downsampling shortcut
  REQUIRE(block->downsample);
  const torch::Tensor x = torch::randn({2, 64, 8, 8});
  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Tensor shortcut = block->downsample->forward(x);
  const torch::Tensor branch = block->bn2(block->conv2(torch::relu(block->bn1(block->conv1(x)))));
  const torch::Tensor whole = torch::relu(shortcut + branch);
  REQUIRE(torch::allclose(block->forward(x), whole));
  block->branch_scale = torch::tensor({0.0f, 2.0f}).view({2, 1, 1, 1});
  CHECK(torch::allclose(block->forward(x), whole));  // not while evaluating

  // Training mode for the block, running statistics for its batch norms, so outputs compare.
  block->train(true);
  for (auto& m : block->modules(/*include_self=*/false)) m->eval();
  const torch::Tensor out = block->forward(x);
  CHECK(torch::allclose(out[0], torch::relu(shortcut[0])));
  CHECK(torch::allclose(out[1], torch::relu(shortcut[1] + 2 * branch[1])));
  CHECK_FALSE(torch::allclose(out[1], whole[1]));
  clear_drop_paths(net);
  CHECK(torch::allclose(block->forward(x), whole));
}
