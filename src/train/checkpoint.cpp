#include "train/checkpoint.hpp"

#include <sstream>

#include <fmt/format.h>

#include "eval/json_codec.hpp"
#include "model/container.hpp"
#include "xraykit/error.hpp"

namespace xraykit {

using nlohmann::json;

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  json history = json::array();
  for (const auto& e : c.history) history.push_back(epoch_to_json(e));
  const json meta = {{"fingerprint", c.fingerprint}, {"epoch", c.epoch},           {"bad_epochs", c.bad_epochs},
                     {"best_score", c.best_score},   {"best_epoch", c.best_epoch}, {"history", history}};
  const std::string m = meta.dump();
  Sections sections = {{"meta.json", {m.begin(), m.end()}},
                       {"weights", tensors_to_bytes(c.weights)},
                       {"best", tensors_to_bytes(c.best)},
                       {"optimizer", c.optimizer}};
  if (!c.average.empty()) sections["average"] = tensors_to_bytes(c.average);
  write_container(path, "checkpoint", sections);
}

Checkpoint load_checkpoint(const std::string& path, const json& fingerprint) {
  const ContainerFile file = read_container(path, "checkpoint");
  const auto& s = file.sections;
  Checkpoint c;
  try {
    const json meta = json::parse(s.at("meta.json").begin(), s.at("meta.json").end());
    if (meta.at("fingerprint") != fingerprint)
      throw ModelError(fmt::format("{}: checkpoint was made for another model, dataset or schedule ({}), not ({})", path,
                                   meta.at("fingerprint").dump(), fingerprint.dump()));
    c.fingerprint = fingerprint;
    c.epoch = meta.at("epoch").get<int>();
    c.bad_epochs = meta.at("bad_epochs").get<int>();
    c.best_score = meta.at("best_score").get<double>();
    c.best_epoch = meta.at("best_epoch").get<int>();
    for (const auto& e : meta.at("history")) c.history.push_back(epoch_from_json(e));
    c.weights = tensors_from_bytes(s.at("weights"), path);
    c.best = tensors_from_bytes(s.at("best"), path);
    if (s.count("average")) c.average = tensors_from_bytes(s.at("average"), path);
    c.optimizer.assign(s.at("optimizer").begin(), s.at("optimizer").end());
  } catch (const std::out_of_range&) {
    throw ModelError(fmt::format("{}: checkpoint lacks a section", path));
  } catch (const json::exception& e) {
    throw ModelError(fmt::format("{}: malformed checkpoint ({})", path, e.what()));
  }
  return c;
}

std::vector<std::uint8_t> optimizer_bytes(torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive ar;
  optimizer.save(ar);
  std::vector<std::uint8_t> bytes;  // written straight into: Adam's state is twice the weights
  ar.save_to([&bytes](const void* p, std::size_t n) {
    bytes.insert(bytes.end(), static_cast<const std::uint8_t*>(p), static_cast<const std::uint8_t*>(p) + n);
    return n;
  });
  return bytes;
}

void load_optimizer(torch::optim::Optimizer& optimizer, const std::vector<std::uint8_t>& bytes) {
  torch::serialize::InputArchive ar;
  std::istringstream is(std::string(bytes.begin(), bytes.end()));
  ar.load_from(is);
  optimizer.load(ar);
}

}  // namespace xraykit
