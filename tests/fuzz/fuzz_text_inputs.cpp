// libFuzzer target: the two text formats users hand to xraykit, on arbitrary bytes: a CSV
// manifest (path,label[,patient] rows, read with Dataset::from_csv from a folder holding two
// small images) and an augmentation spec ("robust,rotate=10,..."), whose Augmenter is then
// applied. The first byte picks which. Refusals (xraykit::Error) are expected; a crash, an
// out-of-range label or an augmented image of the wrong size is not.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "xraykit/augment.hpp"
#include "xraykit/dataset.hpp"
#include "xraykit/error.hpp"
#include "xraykit/image.hpp"

namespace fs = std::filesystem;

namespace {

xraykit::Image pattern(int size) {
  xraykit::Image img{size, size, 1, std::vector<std::uint8_t>(static_cast<std::size_t>(size) * size)};
  for (int i = 0; i < size * size; ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 7);
  return img;
}

const fs::path& folder() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("xraykit-fuzz-text-" + std::to_string(::getpid()));
    fs::create_directories(d / "a");
    xraykit::save_png(pattern(10), (d / "a" / "one.png").string());
    xraykit::save_png(pattern(12), (d / "two.png").string());
    return d;
  }();
  return dir;
}

void manifest(const std::string& text) {
  const fs::path csv = folder() / "list.csv";
  std::ofstream(csv, std::ios::binary) << text;
  xraykit::DatasetOptions o;
  // Tiny images and one thread: decoding is fuzz_image's job, and a manifest of thousands of
  // rows decodes one image per row (16 px images and a thread per core ran 94 inputs/s).
  o.image_size = 8;
  o.threads = 1;
  o.manifest_paths_inside = true;
  const xraykit::Dataset d = xraykit::Dataset::from_csv(csv.string(), o);
  for (std::size_t i = 0; i < d.size(); ++i)
    if (d.label(i) < 0 || d.label(i) >= static_cast<int>(d.classes().size())) std::abort();
}

void augmentation(const std::string& spec) {
  const xraykit::Augmenter aug(spec);
  const xraykit::Image out = aug.apply(pattern(24), 42);
  if (out.width != 24 || out.height != 24 || out.pixels.size() != 24u * 24u) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] & 1)
      manifest(text);
    else
      augmentation(text);
  } catch (const xraykit::Error&) {
    // refused with a reason
  }
  return 0;
}
