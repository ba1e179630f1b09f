#pragma once
// An exponential moving average of a network's weights (Polyak averaging, as in TensorFlow's
// ExponentialMovingAverage and timm's ModelEma): the average of the last few hundred steps
// sits nearer the middle of a flat minimum than the last step's weights, which the last
// steps' noise moves about. Internal; TrainOptions::ema turns it on.
// Thread safety: none; one per fit() run.
#include <cstdint>

#include "model/ood.hpp"  // NamedTensors

namespace xraykit {

class WeightAverage {
 public:
  /// decay in (0, 1), checked by fit(): the old average's weight at each step (the ramp below aside).
  explicit WeightAverage(double decay);

  /// Folds the network's state after optimiser step `step` (0-based, over the whole run) into
  /// the average. The decay ramps up as min(decay, (1 + step) / (10 + step)), so the random
  /// initial weights are forgotten within the first epoch. The first call copies the state.
  /// Floating-point tensors are averaged (BatchNorm's running statistics too); others, such
  /// as BatchNorm's batch count, are copied. ModelError if `state`'s names or shapes are not
  /// the average's (a restored average from another network).
  void update(const NamedTensors& state, std::int64_t step);

  /// The averaged state, in `update`'s order (empty before the first update).
  const NamedTensors& state() const { return average_; }
  /// Continues from a saved average (a checkpoint's); takes copies, since update writes into them.
  void restore(const NamedTensors& average);

 private:
  double decay_;
  NamedTensors average_;
};

}  // namespace xraykit
