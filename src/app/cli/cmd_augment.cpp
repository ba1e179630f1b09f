// `xraykit augment DATA -o sheet.png`: a contact sheet of augmented samples, so a person can
// see what a preset or spec does before training with it.
#include <fmt/format.h>

#include "commands.hpp"
#include "xraykit/augment.hpp"
#include "xraykit/dataset.hpp"

namespace xraykit::cli {

Command add_augment_command(CLI::App& app) {
  struct Args {
    std::string data, output = "augment.png", spec = "medium";
    int rows = 4, cols = 6, size = 224;
    std::uint64_t seed = 1;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("augment", "Write a contact sheet of augmented images");
  cmd->footer("Examples:\n  xraykit augment ../shared/data/chest_xray/train --augment strong -o strong.png\n"
              "  xraykit augment data/ --augment \"rotate=10,gamma=0.8:1.25\" --rows 2");
  cmd->add_option("DATA", a->data, "Folder with one subfolder per class, or a CSV manifest")->required();
  cmd->add_option("-o,--output", a->output, "PNG to write")->capture_default_str();
  cmd->add_option("--augment", a->spec, "Preset (none, light, medium, strong) or spec")->capture_default_str();
  cmd->add_option("--rows", a->rows, "Images (one per row)")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--cols", a->cols, "Augmented copies per image")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--size", a->size, "Tile size in pixels")->check(CLI::Range(8, 1024))->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed")->capture_default_str();
  return [a] {
    const Augmenter aug(a->spec);  // first, so a bad spec fails before any decoding
    DatasetOptions o;
    o.image_size = a->size;
    const Dataset all = Dataset::load(a->data, o);
    // Spread the rows over the dataset so that every class shows.
    std::vector<std::size_t> pick;
    for (int r = 0; r < a->rows && static_cast<std::size_t>(r) < all.size(); ++r)
      pick.push_back(static_cast<std::size_t>(r) * all.size() / a->rows);
    save_png(aug.contact_sheet(all.subset(pick), a->rows, a->cols, a->seed), a->output);
    fmt::print("{}: {} rows x (original + {} augmented), augmentation '{}'\n", a->output, pick.size(), a->cols,
               aug.to_string());
    return 0;
  };
}

}  // namespace xraykit::cli
