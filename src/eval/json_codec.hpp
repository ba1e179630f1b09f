#pragma once
// JSON forms of the small evaluation types that model files, checkpoints and the shells
// share: the one place that lists their fields. Non-finite numbers are written as null and
// read back as NaN. Readers throw nlohmann::json exceptions on missing fields or wrong
// types; callers turn those into their own error. Internal.
#include <nlohmann/json.hpp>

#include "xraykit/evaluator.hpp"

namespace xraykit {

nlohmann::json finite_or_null(double v);
double number_or_nan(const nlohmann::json& j);

nlohmann::json estimate_to_json(const Estimate& e);
Estimate estimate_from_json(const nlohmann::json& j);

nlohmann::json epoch_to_json(const EpochRecord& e);
EpochRecord epoch_from_json(const nlohmann::json& j);

}  // namespace xraykit
