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
    if (*json) {
      fmt::print("{}\n", nlohmann::json::parse(m.provenance()).dump(2));
      return 0;
    }
    fmt::print("{}", m.describe());
    return 0;
  };
}

}  // namespace xraykit::cli
