#include "eval/json_codec.hpp"

#include <cmath>
#include <limits>

#include "xraykit/error.hpp"

namespace xraykit {

using nlohmann::json;

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

double number_or_nan(const json& j) { return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>(); }

json estimate_to_json(const Estimate& e) {
  return {{"value", finite_or_null(e.value)}, {"lo", finite_or_null(e.lo)}, {"hi", finite_or_null(e.hi)}};
}

Estimate estimate_from_json(const json& j) {
  Estimate e;
  e.value = number_or_nan(j.at("value"));
  e.lo = number_or_nan(j.at("lo"));
  e.hi = number_or_nan(j.at("hi"));
  return e;
}

json epoch_to_json(const EpochRecord& e) {
  return {{"epoch", e.epoch},
          {"train_loss", finite_or_null(e.train_loss)},
          {"val_loss", finite_or_null(e.val_loss)},
          {"val_auc", finite_or_null(e.val_auc)},
          {"val_accuracy", finite_or_null(e.val_accuracy)},
          {"learning_rate", e.learning_rate},
          {"seconds", e.seconds}};
}

EpochRecord epoch_from_json(const json& j) {
  EpochRecord e;
  e.epoch = j.at("epoch").get<int>();
  e.train_loss = number_or_nan(j.at("train_loss"));
  e.val_loss = number_or_nan(j.at("val_loss"));
  e.val_auc = number_or_nan(j.at("val_auc"));
  e.val_accuracy = number_or_nan(j.at("val_accuracy"));
  e.learning_rate = j.at("learning_rate").get<double>();
  e.seconds = j.at("seconds").get<double>();
  return e;
}

std::string to_json(const EpochRecord& record) { return epoch_to_json(record).dump(); }

EpochRecord epoch_record_from_json(const std::string& text) {
  try {
    return epoch_from_json(json::parse(text));
  } catch (const json::exception& e) {
    throw InvalidArgument(std::string("malformed epoch record (") + e.what() + ")");
  }
}

}  // namespace xraykit
