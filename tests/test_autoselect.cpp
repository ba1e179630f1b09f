// Auto-selection: budgets steer the choice; the choice is explained and reproducible.
#include <doctest/doctest.h>

#include "xraykit/autoselect.hpp"
#include "xraykit/error.hpp"

using namespace xraykit;

namespace {

Dataset stripes(int n, int seed) {
  std::vector<Image> imgs;
  std::vector<int> labels;
  for (int i = 0; i < n; ++i) {
    Image img{32, 32, 1, std::vector<std::uint8_t>(32 * 32)};
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        img.pixels[y * 32 + x] = static_cast<std::uint8_t>(((i % 2 ? x : y) / 4 % 2) * 150 + (seed * 31 + i * 7 + x * y) % 40);
    imgs.push_back(img);
    labels.push_back(i % 2);
  }
  DatasetOptions o;
  o.image_size = 32;
  return Dataset::from_images(imgs, labels, {"h", "v"}, {}, o);
}

struct Fixture {
  Dataset train = stripes(64, 1), val = stripes(16, 2);
  ClassifierOptions model;
  TrainOptions base;
  Fixture() {
    model.image_size = 32;
    base.batch_size = 8;
    base.threads = 2;
  }
};

}  // namespace

TEST_CASE("durations") {
  CHECK(parse_duration("90s") == 90);
  CHECK(parse_duration("30m") == 1800);
  CHECK(parse_duration("1h30m") == 5400);
  CHECK(parse_duration("45") == 45);
  CHECK_THROWS_WITH_AS(parse_duration("soon"), doctest::Contains("bad duration 'soon'"), InvalidArgument);
  CHECK_THROWS_AS(parse_duration("0m"), InvalidArgument);
}

TEST_CASE("a tiny budget picks a smaller, shorter configuration than a large one, reproducibly") {
  Fixture f;
  AutoSelectOptions o;
  o.probe_steps = 2;
  o.budget_seconds = 0.5;
  const AutoChoice tiny = auto_select(f.train, f.val, f.model, f.base, o);
  o.budget_seconds = 100 * 3600;
  const AutoChoice large = auto_select(f.train, f.val, f.model, f.base, o);
  MESSAGE("tiny: " << tiny.reason);
  MESSAGE("large: " << large.reason);
  REQUIRE(tiny.measured.size() == 3);
  CHECK(tiny.arch == tiny.measured.front().arch);   // the fastest
  CHECK(large.arch == large.measured.back().arch);  // the slowest that fits: all do
  CHECK(large.arch != tiny.arch);
  CHECK(tiny.epochs < large.epochs);
  CHECK(large.epochs == o.max_epochs);
  CHECK(tiny.reason.find("no candidate affords") != std::string::npos);
  CHECK(large.augment == "strong");  // 64 images, many epochs
  CHECK(tiny.augment == "light");    // too few epochs for strong augmentation

  o.budget_seconds = 0.5;
  const AutoChoice again = auto_select(f.train, f.val, f.model, f.base, o);
  CHECK(again.arch == tiny.arch);
  CHECK(again.augment == tiny.augment);
}

TEST_CASE("fixed choices are kept and search runs successive halving") {
  Fixture f;
  AutoSelectOptions o;
  o.probe_steps = 1;
  o.auto_arch = false;
  o.arch = "resnet34";
  o.auto_augment = false;
  o.augment = "medium";
  o.budget_seconds = 3600;
  const AutoChoice c = auto_select(f.train, f.val, f.model, f.base, o);
  CHECK(c.arch == "resnet34");
  CHECK(c.augment == "medium");
  CHECK(c.epochs >= 1);

  AutoSelectOptions s;
  s.probe_steps = 1;
  s.candidates = {"resnet18", "resnet34"};
  s.budget_seconds = 3600;
  s.search = true;
  const AutoChoice searched = auto_select(f.train, f.val, f.model, f.base, s);
  CHECK(searched.reason.find("Successive-halving search") != std::string::npos);
  CHECK((searched.arch == "resnet18" || searched.arch == "resnet34"));
  CHECK_THROWS_AS(auto_select(f.train, f.val, f.model, f.base, AutoSelectOptions{true, true, true, "resnet18", 10, "light", {}}),
                  InvalidArgument);
}
