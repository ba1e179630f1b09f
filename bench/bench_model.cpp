// Network speed through the public API, on synthetic input (images/s, 2 cores here):
// inference (logits), loading a model file and training (fit) for ResNet-18, fp32 and bf16
// autocast.
// bench/peer_torchvision.py measures the same work in PyTorch-Python for comparison.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <thread>

#include "xraykit/classifier.hpp"

namespace {

using namespace xraykit;

ResNetClassifier model(int size) {
  ClassifierOptions o;
  o.image_size = size;
  return ResNetClassifier("resnet18", {"NORMAL", "PNEUMONIA"}, o);
}

Dataset synthetic(int n, int size) {
  std::vector<Image> imgs;
  std::vector<int> labels;
  for (int i = 0; i < n; ++i) {
    Image img{size, size, 1, std::vector<std::uint8_t>(static_cast<std::size_t>(size) * size)};
    for (std::size_t k = 0; k < img.pixels.size(); ++k) img.pixels[k] = static_cast<std::uint8_t>((k * 7 + i * 13) % 251);
    imgs.push_back(img);
    labels.push_back(i % 2);
  }
  DatasetOptions o;
  o.image_size = size;
  return Dataset::from_images(imgs, labels, {"NORMAL", "PNEUMONIA"}, {}, o);
}

void BM_Inference(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0)), batch = 32;
  const ResNetClassifier m = model(size);
  std::vector<float> x(static_cast<std::size_t>(batch) * size * size, 0.1f);
  for (auto _ : state) benchmark::DoNotOptimize(m.logits(x, batch));
  state.SetItemsProcessed(state.iterations() * batch);
}

// predict() on prepared square images: Fast (folded, channels-last, bf16 where the CPU has
// it) against Exact (the fp32 training network), at batch 1 and 32.
void BM_Predict(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0)), batch = static_cast<int>(state.range(1));
  const bool fast = state.range(2) != 0;
  ResNetClassifier m = model(size);
  m.set_inference(fast ? Inference::Fast : Inference::Exact);
  const Dataset d = synthetic(batch, size);
  std::vector<Image> imgs;
  for (std::size_t i = 0; i < d.size(); ++i) imgs.push_back(d.image(i));
  m.predict(imgs);  // builds the fast copy outside the timing
  for (auto _ : state) benchmark::DoNotOptimize(m.predict(imgs));
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(fast ? (cpu_has_fast_bf16() ? "fast (bf16)" : "fast (fp32)") : "exact");
}

// ResNetClassifier::load of a 128 px ResNet-18 file, fp32 (45 MB) or fp16 (23 MB, as the
// shipped models): part of every `xraykit predict`'s start-up.
void BM_Load(benchmark::State& state) {
  const bool fp16 = state.range(0) != 0;
  const auto path = std::filesystem::temp_directory_path() / "xraykit-bench-load.xrk";
  model(128).save(path.string(), fp16 ? ResNetClassifier::Precision::Float16 : ResNetClassifier::Precision::Float32);
  for (auto _ : state) benchmark::DoNotOptimize(ResNetClassifier::load(path.string()));
  std::filesystem::remove(path);
  state.SetLabel(fp16 ? "fp16 file" : "fp32 file");
}

void BM_TrainEpoch(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  const bool bf16 = state.range(1) != 0;
  const Dataset train = synthetic(512, size), val = synthetic(32, size);
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 32;
  o.augment = "light";
  o.bootstrap = 0;
  o.bf16 = bf16;
  for (auto _ : state) {
    ResNetClassifier m = model(size);
    m.fit(train, val, o);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(train.size()));
  state.SetLabel(bf16 ? "bf16" : "fp32");
}

}  // namespace

BENCHMARK(BM_Inference)->Arg(128)->Arg(224)->Unit(benchmark::kMillisecond)->MinTime(3);
BENCHMARK(BM_Predict)
    ->ArgsProduct({{128, 224}, {1, 32}, {0, 1}})
    ->ArgNames({"size", "batch", "fast"})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2);
BENCHMARK(BM_Load)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK(BM_TrainEpoch)->Args({128, 0})->Args({128, 1})->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
