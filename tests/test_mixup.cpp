// Mixup's parts below the public API (their sources are compiled into this test program:
// the library hides its internal symbols).
// LibTorch's c10 logging defines a CHECK macro that aborts instead of counting: its headers
// come first and doctest's CHECK replaces it.
#include "train/mixup.hpp"
#include "train/train_step.hpp"
#undef CHECK

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace xraykit;

TEST_CASE("mixup: Beta(alpha, alpha) draws have the Beta distribution's mean and variance") {
  for (const double alpha : {0.2, 1.0, 4.0}) {
    CAPTURE(alpha);
    Rng rng(7);
    const int n = 20000;
    double sum = 0, squares = 0, lo = 1, hi = 0;
    for (int i = 0; i < n; ++i) {
      const double b = sample_beta(alpha, rng);
      lo = std::min(lo, b);
      hi = std::max(hi, b);
      sum += b;
      squares += b * b;
    }
    CHECK(lo >= 0);
    CHECK(hi <= 1);
    const double mean = sum / n, variance = squares / n - mean * mean;
    CHECK(mean == doctest::Approx(0.5).epsilon(0.02));
    CHECK(variance == doctest::Approx(1 / (4 * (2 * alpha + 1))).epsilon(0.05));
  }
}

TEST_CASE("mixup: each mixed image and target is the same blend of its own row and one other, over a permutation") {
  const int n = 6;
  // Image i holds the value i everywhere, so a blend says which rows it came from.
  const torch::Tensor images = torch::arange(n, torch::kFloat32).view({n, 1, 1, 1}).expand({n, 1, 2, 2}).contiguous();
  const torch::Tensor labels = torch::tensor(std::vector<int64_t>{0, 1, 0, 1, 1, 0}, torch::kInt64);
  Rng rng(3);
  const MixedBatch m = mix_batch(images, labels, 2, 1.0, rng);
  REQUIRE(m.lambda > 1e-3);
  REQUIRE(m.lambda < 1 - 1e-3);
  CHECK(m.images.sizes() == images.sizes());
  REQUIRE(m.targets.sizes() == torch::IntArrayRef({n, 2}));
  std::vector<int64_t> partners;
  for (int i = 0; i < n; ++i) {
    CAPTURE(i);
    const double v = m.images[i][0][0][0].item<double>();
    CHECK(m.images[i].min().item<double>() == doctest::Approx(v));
    CHECK(m.images[i].max().item<double>() == doctest::Approx(v));
    const double j = (v - m.lambda * i) / (1 - m.lambda);
    const auto partner = static_cast<int64_t>(std::lround(j));
    CHECK(j == doctest::Approx(static_cast<double>(partner)).epsilon(1e-4));
    REQUIRE(partner >= 0);
    REQUIRE(partner < n);
    partners.push_back(partner);
    const int64_t own = labels[i].item<int64_t>(), other = labels[partner].item<int64_t>();
    for (int64_t c = 0; c < 2; ++c)
      CHECK(m.targets[i][c].item<double>() ==
            doctest::Approx(m.lambda * (own == c) + (1 - m.lambda) * (other == c)).epsilon(1e-6));
    CHECK(m.targets[i].sum().item<double>() == doctest::Approx(1.0));
  }
  std::sort(partners.begin(), partners.end());
  for (int i = 0; i < n; ++i) CHECK(partners[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("mixup: the weighted loss on probability targets is the loss on class indices when the targets are one-hot") {
  namespace F = torch::nn::functional;
  torch::manual_seed(1);
  const torch::Tensor logits = torch::randn({8, 2});
  // Mostly class 1, as the pneumonia data: a plain mean over the batch would differ.
  const torch::Tensor labels = torch::tensor(std::vector<int64_t>{1, 1, 1, 1, 1, 1, 0, 1}, torch::kInt64);
  const torch::Tensor one_hot = torch::one_hot(labels, 2).to(torch::kFloat32);
  F::CrossEntropyFuncOptions weighted;
  weighted.weight(torch::tensor({2.0f, 0.6f}));
  CHECK(training_loss(logits, one_hot, weighted).item<double>() ==
        doctest::Approx(training_loss(logits, labels, weighted).item<double>()).epsilon(1e-6));
  const F::CrossEntropyFuncOptions plain;
  CHECK(training_loss(logits, one_hot, plain).item<double>() ==
        doctest::Approx(training_loss(logits, labels, plain).item<double>()).epsilon(1e-6));
}

TEST_CASE("cutmix: each image is its own but for one box, the same in all, from its partner, and lambda is the rest's share") {
  const int n = 8, h = 12, w = 20;
  // Image i holds the value i everywhere, so each pixel says which image it came from.
  const torch::Tensor images = torch::arange(n, torch::kFloat32).view({n, 1, 1, 1}).expand({n, 3, h, w}).contiguous();
  const torch::Tensor labels = torch::tensor(std::vector<int64_t>{0, 1, 0, 1, 1, 0, 0, 1}, torch::kInt64);
  int boxes = 0, at_border = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    Rng rng(seed);
    const MixedBatch m = cut_batch(images, labels, 2, 1.0, rng);
    REQUIRE(m.images.sizes() == images.sizes());
    REQUIRE(m.targets.sizes() == torch::IntArrayRef({n, 2}));
    torch::Tensor box;
    std::vector<int64_t> partners;
    for (int i = 0; i < n; ++i) {
      CAPTURE(i);
      CHECK(m.images[i].eq(m.images[i][0]).all().item<bool>());  // all channels alike
      const torch::Tensor changed = m.images[i][0].ne(static_cast<double>(i));
      const int64_t own = labels[i].item<int64_t>();
      if (!changed.any().item<bool>()) {  // its partner is itself, or the box is empty
        CHECK(m.targets[i][own].item<double>() == doctest::Approx(1.0));
        continue;
      }
      const torch::Tensor pasted = m.images[i][0].masked_select(changed);
      const auto partner = static_cast<int64_t>(pasted[0].item<double>());
      CHECK(pasted.eq(static_cast<double>(partner)).all().item<bool>());
      partners.push_back(partner);
      if (!box.defined()) box = changed;
      CHECK(changed.equal(box));
      const int64_t other = labels[partner].item<int64_t>();
      for (int64_t c = 0; c < 2; ++c)
        CHECK(m.targets[i][c].item<double>() ==
              doctest::Approx(m.lambda * (own == c) + (1 - m.lambda) * (other == c)).epsilon(1e-6));
    }
    if (!box.defined()) continue;
    ++boxes;
    // lambda is exactly the share of pixels left alone, also where a border clipped the box.
    CHECK(box.sum().item<double>() == doctest::Approx((1 - m.lambda) * h * w));
    const torch::Tensor rows = box.any(1), cols = box.any(0);
    CHECK(box.sum().item<int64_t>() == rows.sum().item<int64_t>() * cols.sum().item<int64_t>());  // a rectangle
    at_border += rows[0].item<bool>() || rows[h - 1].item<bool>() || cols[0].item<bool>() || cols[w - 1].item<bool>();
    std::sort(partners.begin(), partners.end());
    CHECK(std::adjacent_find(partners.begin(), partners.end()) == partners.end());  // a permutation's
  }
  CHECK(boxes >= 30);
  CHECK(at_border >= 5);  // the clipped case was exercised
}
