// The shift benchmark: each shift does what its name says, and the benchmark evaluates them.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <set>

#include "support.hpp"
#include "xraykit/error.hpp"
#include "xraykit/shift.hpp"

using namespace xraykit;
using namespace testsupport;

namespace {

double mean(const Image& i) { return std::accumulate(i.pixels.begin(), i.pixels.end(), 0.0) / i.pixels.size(); }

double spread(const Image& i) {
  const double m = mean(i);
  double s = 0;
  for (auto p : i.pixels) s += (p - m) * (p - m);
  return std::sqrt(s / i.pixels.size());
}

// Sum of absolute differences between horizontal neighbours: how sharp the image is.
double sharpness(const Image& i) {
  double s = 0;
  for (int y = 0; y < i.height; ++y)
    for (int x = 1; x < i.width; ++x) s += std::abs(i.pixels[y * i.width + x] - i.pixels[y * i.width + x - 1]);
  return s;
}

const ImageShift& find(const std::vector<ImageShift>& all, const std::string& name) {
  for (const auto& s : all)
    if (s.name == name) return s;
  FAIL("no shift named " << name);
  return all.front();
}

}  // namespace

TEST_CASE("standard shifts: named once, 'none' first and the identity") {
  const auto all = standard_shifts();
  REQUIRE(all.size() >= 12);
  CHECK(all.front().name == "none");
  std::set<std::string> names;
  for (const auto& s : all) names.insert(s.name);
  CHECK(names.size() == all.size());
  const Image img = pattern_image(48, 48, 1, 5);
  CHECK(apply_shift(img, all.front()).pixels == img.pixels);
  for (const auto& s : all) {
    INFO(s.name);
    const Image out = apply_shift(img, s);
    CHECK(out.width == 48);
    CHECK(out.pixels.size() == img.pixels.size());
    CHECK(apply_shift(img, s).pixels == out.pixels);  // deterministic
    if (s.name != "none") CHECK(out.pixels != img.pixels);
  }
  CHECK_THROWS_AS(apply_shift(pattern_image(10, 12, 1), all.front()), InvalidArgument);
}

TEST_CASE("each shift changes what its name says") {
  const auto all = standard_shifts();
  Image img = pattern_image(64, 64, 1, 9);
  for (std::size_t i = 0; i < img.pixels.size(); i += 7) img.pixels[i] = 250;  // fine detail to lose
  CHECK(spread(apply_shift(img, find(all, "contrast-0.7"))) < 0.8 * spread(img));
  CHECK(spread(apply_shift(img, find(all, "contrast-1.4"))) > 1.1 * spread(img));
  CHECK(mean(apply_shift(img, find(all, "gamma-1.5"))) < mean(img) - 5);
  CHECK(mean(apply_shift(img, find(all, "gamma-2"))) < mean(apply_shift(img, find(all, "gamma-1.5"))));
  CHECK(spread(apply_shift(img, find(all, "soft-film"))) < 0.8 * spread(img));
  CHECK(mean(apply_shift(img, find(all, "gamma-0.7"))) > mean(img) + 5);
  CHECK(mean(apply_shift(img, find(all, "brighter-0.1"))) > mean(img) + 15);
  CHECK(sharpness(apply_shift(img, find(all, "blur-2"))) < sharpness(apply_shift(img, find(all, "blur-1"))));
  CHECK(sharpness(apply_shift(img, find(all, "blur-1"))) < 0.8 * sharpness(img));
  CHECK(sharpness(apply_shift(img, find(all, "resolution-0.5"))) < sharpness(img));
  CHECK(std::abs(mean(apply_shift(img, find(all, "noise-0.04"))) - mean(img)) < 3);
}

TEST_CASE("the benchmark evaluates a model under every shift at its threshold") {
  std::vector<Image> imgs;
  std::vector<int> labels;
  std::vector<std::string> patients;
  for (int i = 0; i < 24; ++i) {
    Image img = pattern_image(32, 32, 1, i);
    if (i % 2)
      for (int y = 10; y < 22; ++y)
        for (int x = 10; x < 22; ++x) img.pixels[y * 32 + x] = 255;
    imgs.push_back(img);
    labels.push_back(i % 2);
    patients.push_back("p" + std::to_string(i));
  }
  DatasetOptions dopt;
  dopt.image_size = 32;
  const Dataset data = Dataset::from_images(imgs, labels, {"a", "b"}, patients, dopt);
  ClassifierOptions copt;
  copt.image_size = 32;
  ResNetClassifier model("resnet18", {"a", "b"}, copt);
  model.set_threshold(0.3);
  EvalOptions e;
  e.split = "val";
  e.bootstrap = 0;
  const auto shifts = standard_shifts();
  const auto results = shift_benchmark(model, data, {shifts[0], shifts[1]}, e);
  REQUIRE(results.size() == 2);
  CHECK(results[0].evaluation.split == "val + none");
  CHECK(results[1].evaluation.split == "val + " + shifts[1].name);
  CHECK(results[0].evaluation.threshold == doctest::Approx(0.3));
  e.threshold = 0.3;
  const Evaluation plain = model.evaluate(data, e);
  CHECK(results[0].evaluation.auc.value == doctest::Approx(plain.auc.value));
  CHECK(results[0].evaluation.confusion == plain.confusion);
  const std::string table = shift_table(results);
  CHECK(table.find(shifts[1].name) != std::string::npos);
  CHECK(table.find("worst (shifted)") != std::string::npos);
}
