// Augmentation cost per image (one thread, 128 px grey, the training input size of the
// README recipe), for each preset and the default recipe: what a BatchLoader worker spends
// per training image before the network sees it.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "xraykit/augment.hpp"
#include "xraykit/classifier.hpp"

namespace {

// The presets, then the training default (whatever TrainOptions says it is).
const std::string kSpecs[] = {"none", "light", "medium", "robust", "strong", xraykit::TrainOptions{}.augment};

void BM_Augment(benchmark::State& state) {
  constexpr int kSize = 128;
  const std::string spec = kSpecs[state.range(0)];
  const xraykit::Augmenter augmenter(spec);
  std::vector<std::uint8_t> src(kSize * kSize), out(src.size());
  for (std::size_t k = 0; k < src.size(); ++k) src[k] = static_cast<std::uint8_t>((k * 7 + k / kSize * 13) % 251);
  std::uint64_t seed = 0;
  for (auto _ : state) {
    augmenter.apply(src.data(), kSize, 1, ++seed, out.data());  // a new draw per image, as in training
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(spec);
}

}  // namespace

BENCHMARK(BM_Augment)->DenseRange(0, 5)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
