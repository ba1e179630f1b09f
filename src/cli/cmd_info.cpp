// `xraykit info model.xrk`: the model card.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "xraykit/classifier.hpp"

namespace xraykit::cli {

Command add_info_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("info", "Show what a model is: architecture, classes, input, threshold, provenance");
  cmd->footer("Example:\n  xraykit info pneumonia.xrk");
  cmd->add_option("MODEL", *model, "Model file")->required();
  cmd->add_flag("--json", *json, "Print the provenance as JSON");
  return [model, json] {
    const ResNetClassifier m = ResNetClassifier::load(*model);
    const auto prov = nlohmann::json::parse(m.provenance());
    if (*json) {
      fmt::print("{}\n", prov.dump(2));
      return 0;
    }
    fmt::print("{}", m.describe());
    if (prov.contains("validation")) {
      const auto& v = prov["validation"];
      auto est = [](const nlohmann::json& e) {
        if (e["value"].is_null()) return std::string("n/a");
        return fmt::format("{:.3f} ({:.3f}-{:.3f})", e["value"].get<double>(), e["lo"].get<double>(), e["hi"].get<double>());
      };
      fmt::print("validation    {} split, {} images, {} patients\n", v["split"].get<std::string>(), v["images"].get<int>(),
                 v["patients"].get<int>());
      for (const char* k : {"auc", "accuracy", "sensitivity", "specificity", "precision"})
        if (v.contains(k)) fmt::print("  {:<12} {}\n", k, est(v[k]));
    }
    if (prov.contains("options")) {
      fmt::print("training      {} epochs run (best {}), augmentation '{}', seed {}\n", prov["epochs_run"].get<int>(),
                 prov["best_epoch"].get<int>(), prov["augmentation"].get<std::string>(), prov["options"]["seed"].get<std::uint64_t>());
      fmt::print("data          {}\n", prov["data"]["train"].get<std::string>());
      fmt::print("library       xraykit {}\n", prov["library_version"].get<std::string>());
    }
    if (prov.contains("auto_select")) fmt::print("auto-select   {}\n", prov["auto_select"]["reason"].get<std::string>());
    fmt::print("intended use  decision support for trained staff; not a diagnosis\n");
    return 0;
  };
}

}  // namespace xraykit::cli
