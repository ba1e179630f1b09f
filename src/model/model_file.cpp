// The model file: a container with a JSON description and the weights.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/classifier_impl.hpp"
#include "model/container.hpp"
#include "xraykit/error.hpp"
#include "xraykit/version.hpp"

namespace xraykit {

using nlohmann::json;

namespace {

json meta_json(const ResNetClassifier::Impl& m) {
  return {{"arch", m.arch},
          {"classes", m.classes},
          {"image_size", m.options.image_size},
          {"channels", m.options.channels},
          {"geometry", m.options.geometry == Geometry::Squash ? "squash" : "pad"},
          {"normalization", {{"mean", m.options.normalization.mean}, {"std", m.options.normalization.stddev}}},
          {"threshold", m.threshold},
          {"temperature", m.temperature},
          {"provenance", json::parse(m.provenance)},
          {"library_version", XRAYKIT_VERSION_STRING}};
}

}  // namespace

void ResNetClassifier::save(const std::string& path, Precision precision) const {
  const auto lock = impl_->reading();
  const std::string meta = meta_json(*impl_).dump(2);
  Sections sections{{"meta.json", {meta.begin(), meta.end()}}, {"weights", impl_->weights_bytes(precision)}};
  if (impl_->ood.fitted()) sections["ood"] = tensors_to_bytes(impl_->ood.to_tensors());
  write_container(path, "model", sections);
}

ResNetClassifier ResNetClassifier::load(const std::string& path) {
  const ContainerFile file = read_container(path, "model");
  const auto& s = file.sections;
  if (!s.count("meta.json") || !s.count("weights")) throw ModelError(fmt::format("{}: model file lacks its {}", path,
                                                                                 s.count("weights") ? "description" : "weights"));
  try {
    const json j = json::parse(s.at("meta.json").begin(), s.at("meta.json").end());
    ClassifierOptions o;
    o.image_size = j.at("image_size").get<int>();
    o.channels = j.at("channels").get<int>();
    o.geometry = j.at("geometry").get<std::string>() == "pad" ? Geometry::Pad : Geometry::Squash;
    o.normalization.mean = j.at("normalization").at("mean").get<std::vector<float>>();
    o.normalization.stddev = j.at("normalization").at("std").get<std::vector<float>>();
    auto impl = std::make_unique<Impl>(j.at("arch").get<std::string>(), j.at("classes").get<std::vector<std::string>>(), o,
                                         /*initialise=*/false);
    impl->set_threshold(j.at("threshold").get<double>());
    impl->temperature = j.value("temperature", 1.0);  // files from before temperature scaling
    if (!(impl->temperature >= 0.01 && impl->temperature <= 100))
      throw ModelError(fmt::format("{}: temperature {} outside [0.01, 100]", path, impl->temperature));
    impl->provenance = j.at("provenance").dump();
    impl->load_weights_bytes(s.at("weights"), path);
    if (s.count("ood"))  // absent in files from before the check
      impl->ood = OodCheck::from_tensors(tensors_from_bytes(s.at("ood"), path), static_cast<int>(impl->classes.size()),
                                         impl->net->fc->weight.size(1), path);
    return ResNetClassifier(std::move(impl));
  } catch (const json::exception& e) {
    throw ModelError(fmt::format("{}: malformed model description ({})", path, e.what()));
  } catch (const InvalidArgument& e) {
    throw ModelError(fmt::format("{}: {}", path, e.what()));
  }
}

}  // namespace xraykit
