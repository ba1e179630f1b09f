// The real Kermany training set. These must run (CI points XRAYKIT_DATA at it); without the
// data they fail, saying where they looked.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "support.hpp"
#include "xraykit/dataset.hpp"

using namespace xraykit;
using namespace testsupport;

namespace {

const Dataset& real() {
  static const Dataset d = [] {
    const std::string dir = real_data_dir();
    if (dir.empty()) throw std::runtime_error("real data not found: set XRAYKIT_DATA to chest_xray/train");
    DatasetOptions o;
    o.image_size = 64;  // the counts and split do not depend on resolution; keeps the test quick
    return Dataset::from_folder(dir, o);
  }();
  return d;
}

}  // namespace

TEST_CASE("real data: 1,341 NORMAL and 3,875 PNEUMONIA images, all decoded") {
  const Dataset& d = real();
  CHECK(d.classes() == std::vector<std::string>{"NORMAL", "PNEUMONIA"});
  CHECK(d.class_counts() == std::vector<std::int64_t>{1341, 3875});
  CHECK(d.skipped().empty());
  const auto patients = d.patient_counts();
  CHECK(patients[0] > 1000);
  CHECK(patients[0] < 1341);  // some children have several images
  CHECK(patients[1] < 3875 / 2);
}

TEST_CASE("real data: the split is patient-disjoint and keeps class ratios") {
  const Dataset& d = real();
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    const Split s = d.split(0.15, seed);
    std::set<std::string> train;
    for (std::size_t i = 0; i < s.train.size(); ++i) train.insert(s.train.patient(i));
    std::size_t shared = 0;
    for (std::size_t i = 0; i < s.val.size(); ++i) shared += train.count(s.val.patient(i));
    CHECK(shared == 0);
    const double all = static_cast<double>(d.class_counts()[0]) / d.size();
    const double val = static_cast<double>(s.val.class_counts()[0]) / s.val.size();
    const double tr = static_cast<double>(s.train.class_counts()[0]) / s.train.size();
    CHECK(std::abs(val - all) < 0.03);
    CHECK(std::abs(tr - all) < 0.03);
    CHECK(std::abs(static_cast<double>(s.val.size()) / d.size() - 0.15) < 0.02);
  }
}

TEST_CASE("real data: 5-fold folds are patient-disjoint") {
  const auto folds = real().kfold(5, 11);
  for (const auto& f : folds) {
    std::set<std::string> train;
    for (std::size_t i = 0; i < f.train.size(); ++i) train.insert(f.train.patient(i));
    for (std::size_t i = 0; i < f.val.size(); ++i) REQUIRE(train.count(f.val.patient(i)) == 0);
    CHECK(std::abs(static_cast<double>(f.val.size()) / real().size() - 0.2) < 0.02);
  }
}

TEST_CASE("real data: a full-size radiograph shrunk by xraykit matches the set's 224 px copy") {
  const fs::path train = real_data_dir();
  const fs::path full = train.parent_path().parent_path() / "fullres_sample";
  REQUIRE(fs::is_directory(full));
  int compared = 0;
  for (const char* cls : {"NORMAL", "PNEUMONIA"}) {
    for (const auto& e : fs::directory_iterator(full / cls)) {
      if (compared % 40 >= 5) { ++compared; continue; }  // five per class keeps it quick
      const Image big = load_image(e.path().string());
      CHECK(std::max(big.width, big.height) >= 900);
      const Image ours = resize(big, 224, 224);
      const Image theirs = load_image((train / cls / e.path().filename()).string());
      double diff = 0;
      for (std::size_t i = 0; i < ours.pixels.size(); ++i) diff += std::abs(ours.pixels[i] - theirs.pixels[i]);
      CHECK(diff / ours.pixels.size() < 6.0);  // mean absolute difference in grey levels
      ++compared;
    }
  }
  CHECK(compared == 80);
}

TEST_CASE("real data: reduced-scale JPEG decoding matches full decoding after resizing") {
  const fs::path full = fs::path(real_data_dir()).parent_path().parent_path() / "fullres_sample";
  REQUIRE(fs::is_directory(full));
  int compared = 0;
  for (const char* cls : {"NORMAL", "PNEUMONIA"}) {
    int taken = 0;
    for (const auto& e : fs::directory_iterator(full / cls)) {
      if (taken++ == 5) break;
      for (int size : {128, 224}) {
        CAPTURE(e.path().string());
        CAPTURE(size);
        DecodeOptions scaled;
        scaled.min_side = size;
        const Image small = load_image(e.path().string(), scaled);
        const Image whole = load_image(e.path().string());
        CHECK(small.width < whole.width);  // 900+ px files always allow at least 1/2 here
        CHECK(small.width >= size);
        CHECK(small.height >= size);
        const Image a = fit_square(small, size, Geometry::Squash), b = fit_square(whole, size, Geometry::Squash);
        double diff = 0;
        std::vector<int> d(a.pixels.size());
        for (std::size_t i = 0; i < a.pixels.size(); ++i) diff += d[i] = std::abs(a.pixels[i] - b.pixels[i]);
        std::nth_element(d.begin(), d.begin() + d.size() * 99 / 100, d.end());
        // Grey levels: small on average, and only a few pixels on sharp edges (text markers)
        // move by more, because DCT scaling and area averaging place edges a fraction of a
        // pixel apart.
        CHECK(diff / a.pixels.size() < 2.5);
        CHECK(d[d.size() * 99 / 100] <= 16);
        ++compared;
      }
    }
  }
  CHECK(compared == 20);
}
