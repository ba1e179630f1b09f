// Decode + resize throughput on real files, one thread (images/s per core).
// Files are read into memory first: this measures decoding, not the disk.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "xraykit/dataset.hpp"
#include "xraykit/image.hpp"

namespace fs = std::filesystem;

namespace {

std::string data_root() {
  if (const char* env = std::getenv("XRAYKIT_DATA"); env && *env) return env;
  return XRAYKIT_SOURCE_DIR "/../shared/data/chest_xray/train";
}

std::vector<std::vector<std::uint8_t>> read_all(const fs::path& dir, std::size_t limit) {
  std::vector<std::vector<std::uint8_t>> files;
  if (!fs::is_directory(dir)) return files;
  std::vector<fs::path> paths;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    if (files.size() >= limit) break;
    std::ifstream in(p, std::ios::binary);
    files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return files;
}

void run(benchmark::State& state, const std::vector<std::vector<std::uint8_t>>& files, int size) {
  if (files.empty()) {
    state.SkipWithError("no data: set XRAYKIT_DATA");
    return;
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& f = files[i++ % files.size()];
    auto img = xraykit::fit_square(xraykit::decode_image(f.data(), f.size()), size, xraykit::Geometry::Squash);
    benchmark::DoNotOptimize(img.pixels.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Decode224Jpeg_to224(benchmark::State& state) {
  static const auto files = read_all(fs::path(data_root()) / "PNEUMONIA", 500);
  run(state, files, 224);
}

void BM_Decode224Jpeg_to128(benchmark::State& state) {
  static const auto files = read_all(fs::path(data_root()) / "PNEUMONIA", 500);
  run(state, files, 128);
}

void BM_DecodeFullres_to224(benchmark::State& state) {
  static const auto files = read_all(fs::path(data_root()).parent_path().parent_path() / "fullres_sample", 80);
  run(state, files, 224);
}

void BM_DatasetLoadAll(benchmark::State& state) {
  xraykit::DatasetOptions o;
  o.threads = static_cast<int>(state.range(0));
  std::size_t n = 0;
  for (auto _ : state) n += xraykit::Dataset::from_folder(data_root(), o).size();
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
}

}  // namespace

BENCHMARK(BM_Decode224Jpeg_to224);
BENCHMARK(BM_Decode224Jpeg_to128);
BENCHMARK(BM_DecodeFullres_to224);
BENCHMARK(BM_DatasetLoadAll)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
