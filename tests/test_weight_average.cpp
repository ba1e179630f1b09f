// The weight average (TrainOptions::ema) below the public API; its source is compiled into
// this test program (the library hides its internal symbols). Torch's headers come first:
// doctest's CHECK must replace c10's (see test_mixup.cpp).
#include "train/weight_average.hpp"
#undef CHECK

#include <doctest/doctest.h>

#include "xraykit/error.hpp"

using namespace xraykit;

namespace {

NamedTensors state_of(float weight, std::int64_t count) {
  return {{"conv.weight", torch::full({2, 2}, weight)}, {"bn.num_batches_tracked", torch::tensor(count)}};
}

}  // namespace

TEST_CASE("weight average: a copy at first, then the ramped exponential average, with counts copied") {
  WeightAverage avg(0.99);
  CHECK(avg.state().empty());
  NamedTensors live = state_of(1, 1);
  avg.update(live, 0);
  REQUIRE(avg.state().size() == 2);
  CHECK(avg.state()[0].second[0][0].item<float>() == doctest::Approx(1));
  live[0].second.fill_(3);  // the average holds its own copy, not the live tensor
  CHECK(avg.state()[0].second[0][0].item<float>() == doctest::Approx(1));

  // Step 1: the ramp (1 + 1) / (10 + 1) is below 0.99, so it decides.
  avg.update(state_of(3, 2), 1);
  const double d1 = 2.0 / 11.0;
  CHECK(avg.state()[0].second[1][1].item<float>() == doctest::Approx(d1 * 1 + (1 - d1) * 3));
  CHECK(avg.state()[1].second.item<std::int64_t>() == 2);

  // Late in a run the ramp is above 0.99: the decay itself decides.
  const float before = avg.state()[0].second[0][1].item<float>();
  avg.update(state_of(10, 3), 100000);
  CHECK(avg.state()[0].second[0][1].item<float>() == doctest::Approx(0.99 * before + 0.01 * 10));
  CHECK(avg.state()[1].second.item<std::int64_t>() == 3);

  // A restored average continues from its own copy of the saved tensors.
  const float saved = avg.state()[0].second[0][0].item<float>();
  WeightAverage resumed(0.99);
  resumed.restore(avg.state());
  resumed.update(state_of(0, 4), 100001);
  CHECK(resumed.state()[0].second[0][0].item<float>() == doctest::Approx(0.99 * saved));
  CHECK(avg.state()[0].second[0][0].item<float>() == doctest::Approx(saved));  // untouched

  // An average from another network is refused by name or shape, not blended.
  NamedTensors renamed = state_of(0, 5);
  renamed[0].first = "fc.weight";
  CHECK_THROWS_WITH_AS(resumed.update(renamed, 100002), doctest::Contains("fc.weight"), ModelError);
  NamedTensors reshaped = state_of(0, 5);
  reshaped[0].second = torch::zeros({2});
  CHECK_THROWS_AS(resumed.update(reshaped, 100002), ModelError);
}
