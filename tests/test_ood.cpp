// The out-of-distribution check: fit() fits it, images unlike the training set score above
// its limit, it travels in the model file, and changed weights drop it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "support.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/error.hpp"

using namespace xraykit;
using namespace testsupport;

namespace {

// Images nothing like the blob task: flat white, a checkerboard, uniform noise. (A flat dark
// image is too close to the task's dark "plain" images for a 3-epoch network to tell; the
// real-data tests check blank films on a real model.)
std::vector<Image> strangers() {
  std::vector<Image> out;
  out.push_back(Image{32, 32, 1, std::vector<std::uint8_t>(32 * 32, 255)});
  Image checker{32, 32, 1, std::vector<std::uint8_t>(32 * 32)};
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) checker.pixels[y * 32 + x] = ((x / 4 + y / 4) % 2) ? 255 : 0;
  out.push_back(checker);
  Image noise{32, 32, 1, std::vector<std::uint8_t>(32 * 32)};
  Lcg rnd{5};
  for (auto& p : noise.pixels) p = static_cast<std::uint8_t>(rnd() % 256);
  out.push_back(noise);
  return out;
}

int above_one(const std::vector<float>& scores) {
  return static_cast<int>(std::count_if(scores.begin(), scores.end(), [](float s) { return s > 1; }));
}

}  // namespace

TEST_CASE("fit() fits the check: strange images score above its limit, the task's images below") {
  const Dataset train = blob_dataset(160, 1), val = blob_dataset(64, 2);
  ResNetClassifier m("resnet18", {"plain", "blob"}, tiny());
  m.fit(train, val, quick(3));
  REQUIRE(m.has_ood_check());
  // The limit is the 0.995 quantile of the validation images' distances: new images of the
  // task are rarely flagged.
  const Dataset fresh = blob_dataset(200, 3);
  CHECK(above_one(m.ood_scores(val)) <= 1);
  CHECK(above_one(m.ood_scores(fresh)) <= 10);
  for (const Prediction& p : m.predict(strangers())) {
    CHECK(p.ood_score > 1);
    CHECK(p.out_of_distribution());
  }
  const Prediction usual = m.predict(val.image(0));
  CHECK(std::isfinite(usual.ood_score));
  CHECK(m.explain(strangers()[2]).prediction.out_of_distribution());  // explanations carry it too

  SUBCASE("the quantile sets how many known images fall outside") {
    m.fit_ood(train, val, 0.5);
    const int flagged = above_one(m.ood_scores(fresh));
    CHECK(flagged >= 60);
    CHECK(flagged <= 140);
    m.fit_ood(train, train.subset({}), 0.5);  // no held-out images: the limit from the known ones
    CHECK(above_one(m.ood_scores(train)) == 80);
    CHECK_THROWS_AS(m.fit_ood(train, val, 0), InvalidArgument);
    CHECK_THROWS_AS(m.fit_ood(blob_dataset(4, 3).subset({0, 1, 2}), val), InvalidArgument);  // one blob image
  }
  SUBCASE("saved and loaded with the model, unchanged") {
    TempDir dir;
    m.save((dir / "m.xrk").string());
    const ResNetClassifier back = ResNetClassifier::load((dir / "m.xrk").string());
    REQUIRE(back.has_ood_check());
    const auto a = m.ood_scores(val), b = back.ood_scores(val);
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-5));
  }
  SUBCASE("new weights drop the check: it described the old network's features") {
    m.load_state_dict(m.state_dict());
    CHECK_FALSE(m.has_ood_check());
    const Prediction p = m.predict(strangers()[0]);
    CHECK(std::isnan(p.ood_score));
    CHECK_FALSE(p.out_of_distribution());
  }
}

TEST_CASE("a model without a check answers NaN scores and never flags") {
  const ResNetClassifier m("resnet18", {"plain", "blob"}, tiny());
  CHECK_FALSE(m.has_ood_check());
  CHECK(std::isnan(m.predict(strangers()[2]).ood_score));
  const auto scores = m.ood_scores(blob_dataset(4, 1));
  REQUIRE(scores.size() == 4);
  CHECK(std::isnan(scores[0]));
}
