#pragma once
// fit()'s checkpoint: everything needed to continue a run exactly where an epoch ended
// (weights, the best epoch's weights, the weight average, optimizer state, schedule position
// and history),
// written atomically after every epoch. Internal.
//
// The fingerprint names the model, data sizes and schedule the run was made for; a
// checkpoint with another fingerprint is refused rather than silently continued.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/classifier_impl.hpp"
#include "xraykit/evaluator.hpp"

namespace xraykit {

struct Checkpoint {
  nlohmann::json fingerprint;
  int epoch = 0;       ///< the last finished epoch
  int bad_epochs = 0;  ///< epochs since the best one (for patience)
  int best_epoch = 0;
  double best_score = 0;
  std::vector<EpochRecord> history;
  NamedTensors weights, best;
  NamedTensors average;  ///< the weight average (TrainOptions::ema); empty when off
  std::vector<std::uint8_t> optimizer;  ///< torch::optim serialisation
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
/// ModelError naming the path: not a checkpoint, damaged, or made for another fingerprint.
Checkpoint load_checkpoint(const std::string& path, const nlohmann::json& fingerprint);

std::vector<std::uint8_t> optimizer_bytes(torch::optim::Optimizer& optimizer);
void load_optimizer(torch::optim::Optimizer& optimizer, const std::vector<std::uint8_t>& bytes);

}  // namespace xraykit
