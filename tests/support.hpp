#pragma once
// Helpers shared by the test suites: temporary folders, synthetic image files, and the
// location of the real training data.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "xraykit/classifier.hpp"
#include "xraykit/image.hpp"

namespace testsupport {

namespace fs = std::filesystem;

/// A fresh folder under the system temp dir, removed when the object dies.
/// The tests' own seeded generator (an LCG): synthetic data and shuffles stay the same even
/// if the library's RNG changes, so that thresholds tuned on them keep meaning.
struct Lcg {
  std::uint64_t s;
  std::uint64_t operator()() { return (s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 33; }
};

/// A small model (32 px, seed 1) and a short fp32 training schedule for the synthetic tasks.
/// fp32 whatever the CPU, so that these tests behave alike everywhere; bf16 training (the
/// default where the CPU has it) has its own tests.
xraykit::ClassifierOptions tiny();
xraykit::TrainOptions quick(int epochs);

/// A synthetic task: class 1 ("blob") images carry a bright square at a random place,
/// class 0 ("plain") images do not; 32 px grey, two images per patient.
xraykit::Dataset blob_dataset(int n, std::uint64_t seed);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

/// A w x h image with c channels whose pixels follow a simple pattern seeded by `seed`.
xraykit::Image pattern_image(int w, int h, int c, int seed = 0);

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> read_bytes(const fs::path& path);

/// Encoders (stb_image_write, compiled into the tests themselves).
void write_png(const fs::path& path, const xraykit::Image& img);
void write_jpeg(const fs::path& path, const xraykit::Image& img, int quality = 90);
void write_bmp(const fs::path& path, const xraykit::Image& img);

/// A PNG with 16-bit samples (stb_image_write cannot make one), built by hand:
/// colour_type 0 = grey, 2 = RGB; values are 16-bit.
std::vector<std::uint8_t> png16(int w, int h, int colour_type, const std::vector<std::uint16_t>& samples);

/// Only an IHDR claiming width x height, then IEND: a decompression-bomb header.
std::vector<std::uint8_t> png_header_only(std::uint32_t width, std::uint32_t height);

/// The real training set: $XRAYKIT_DATA, else ../shared/data/chest_xray/train beside the
/// source tree. Empty string if neither exists.
std::string real_data_dir();

}  // namespace testsupport
