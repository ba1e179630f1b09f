// `xraykit dataset DIR`: what the tool sees in a folder tree or manifest, and how it would
// split it.
#include <filesystem>

#include <fmt/format.h>

#include "commands.hpp"
#include "split_args.hpp"
#include "xraykit/dataset.hpp"
#include "xraykit/error.hpp"

namespace xraykit::cli {


Command add_dataset_command(CLI::App& app) {
  struct Args {
    std::string source;
    SplitArgs split;
    int size = 224;
    int threads = 0;
    bool strict = false, pneumonia_kinds = false;
    std::string patient_regex;
    std::string write_split;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("dataset", "Summarise a dataset (class folders or CSV manifest) and its split");
  cmd->footer(
      "Examples:\n"
      "  xraykit dataset ../shared/data/chest_xray/train\n"
      "  xraykit dataset manifest.csv --val 0.2 --seed 7\n"
      "  xraykit dataset chest_xray/train --write-split splits/   # train.csv and val.csv\n"
      "  xraykit dataset chest_xray/train --fold 2/5 --write-split fold2/   # the split `train --fold 2/5` uses");
  cmd->add_option("DATA", args->source, "Folder with one subfolder per class, or a CSV manifest (path,label[,patient])")
      ->required();
  add_split_options(cmd, args->split);
  cmd->add_option("--seed", args->split.seed, "Seed of the split")->capture_default_str();
  cmd->add_option("--size", args->size, "Input size in pixels")->check(CLI::Range(8, 4096))->capture_default_str();
  cmd->add_option("--threads", args->threads, "Decoding threads (0 = OMP_NUM_THREADS if set, else all cores)")->capture_default_str();
  cmd->add_option("--patient-regex", args->patient_regex, "Regex whose first group is the patient id in file names");
  cmd->add_option("--write-split", args->write_split,
                  "Folder to write the split into as manifests (train.csv, val.csv) for other tools");
  cmd->add_flag("--strict", args->strict, "Fail on the first bad file instead of skipping it");
  cmd->add_flag("--pneumonia-kinds", args->pneumonia_kinds,
                "Three classes: PNEUMONIA split into BACTERIAL and VIRAL by file name (_bacteria_, _virus_)");
  return [args] {
    check_split_args(args->split);
    DatasetOptions opt;
    opt.image_size = args->size;
    opt.threads = args->threads;
    opt.strict = args->strict;
    opt.patient_regex = args->patient_regex;
    opt.pneumonia_kinds = args->pneumonia_kinds;
    const Dataset data = Dataset::load(args->source, opt);
    fmt::print("{}", data.detailed_summary());
    if (data.num_classes() < 2) return 0;
    const Split split = make_split(data, args->split);
    fmt::print("\n{}", describe_split(split));
    if (!args->write_split.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(args->write_split, ec);
      if (ec) throw IoError(fmt::format("{}: cannot create folder ({})", args->write_split, ec.message()));
      split.train.save_csv(args->write_split + "/train.csv");
      split.val.save_csv(args->write_split + "/val.csv");
      fmt::print("\nwrote {0}/train.csv and {0}/val.csv\n", args->write_split);
    }
    return 0;
  };
}

}  // namespace xraykit::cli
