// `xraykit train DATA -o model.xrk`: from two folders of X-rays to a trained, evaluated model.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "commands.hpp"
#include "progress.hpp"
#include "split_args.hpp"
#include "xraykit/augment.hpp"
#include "xraykit/autoselect.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/error.hpp"
#include "xraykit/model_card.hpp"

namespace xraykit::cli {

namespace {

// Fails before hours of training if the output cannot be written.
void check_writable(const std::string& path) {
  const std::filesystem::path p(path);
  const auto dir = p.parent_path().empty() ? std::filesystem::path(".") : p.parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw IoError(fmt::format("{}: folder {} does not exist", path, dir.string()));
  const auto probe = dir / (".xraykit-write-test-" + std::to_string(::getpid()));
  std::ofstream f(probe);
  if (!f) throw IoError(fmt::format("{}: cannot write in {}", path, dir.string()));
  f.close();
  std::filesystem::remove(probe, ec);
}

struct TrainArgs {
  std::string data, output, arch = "resnet18", epochs, augment, balance, pretrained, budget = "30m", resume, report, keep,
      threshold_rule;
  int size = 224;
  SplitArgs split;
  bool search = false, rgb = false, pneumonia_kinds = false;
  TrainOptions train;  // numeric and boolean options bind here directly, with the library's defaults
  bool auto_arch() const { return arch == "auto"; }
  bool auto_epochs() const { return epochs == "auto"; }
  bool auto_augment() const { return augment == "auto"; }
};

// The library's defaults are the command's.
TrainArgs default_args() {
  TrainArgs a;
  a.epochs = std::to_string(a.train.epochs);
  a.augment = a.train.augment;
  a.balance = to_string(a.train.balance);
  a.keep = to_string(a.train.keep);
  a.threshold_rule = to_string(a.train.threshold_rule);
  return a;
}

void add_options(CLI::App* cmd, TrainArgs& a) {
  cmd->add_option("DATA", a.data, "Folder with one subfolder per class (e.g. NORMAL/, PNEUMONIA/), or a CSV manifest")->required();
  cmd->add_option("-o,--output", a.output, "Model file to write")->required();
  cmd->add_option("--arch", a.arch, "resnet18, resnet34, resnet50, resnet101, resnet152 or auto")->capture_default_str();
  cmd->add_option("--epochs", a.epochs, "Number of epochs, or auto")->capture_default_str();
  cmd->add_option("--augment", a.augment, "none, light, medium, robust, strong, a spec (see docs), or auto")->capture_default_str();
  cmd->add_option("--size", a.size, "Input size in pixels")->check(CLI::Range(32, 1024))->capture_default_str();
  add_split_options(cmd, a.split);
  cmd->add_option("--balance", a.balance, "Class imbalance: weights, sampler or none")
      ->check(CLI::IsMember({"weights", "sampler", "none"}))->capture_default_str();
  cmd->add_option("--pretrained", a.pretrained, "torchvision state_dict (.pth) to start from");
  cmd->add_option("--freeze", a.train.freeze_epochs, "Epochs training only the final layer (with --pretrained)")->capture_default_str();
  cmd->add_option("--budget", a.budget, "Time budget for auto choices (e.g. 90s, 30m, 2h)")->capture_default_str();
  cmd->add_flag("--search", a.search, "With auto: run a short successive-halving search on the validation split");
  cmd->add_option("--batch", a.train.batch_size, "Batch size")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--lr", a.train.learning_rate, "Peak learning rate")->capture_default_str();
  cmd->add_option("--label-smoothing", a.train.label_smoothing, "Label smoothing of the loss's targets (0 = off)")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  cmd->add_option("--mixup", a.train.mixup,
                  fmt::format("Mixup: blend each batch with a shuffled copy of itself, weight ~ Beta(ALPHA, ALPHA) "
                              "(0 = off; 0.2 is usual; at least {})", TrainOptions::kMixupMin))
      ->check(CLI::Range(0.0, TrainOptions::kMixupMax))
      ->capture_default_str();
  cmd->add_option("--cutmix", a.train.cutmix,
                  fmt::format("CutMix: paste a box of a shuffled partner into each image, its share of the pixels "
                              "~ Beta(ALPHA, ALPHA) (0 = off; 1 is usual; at least {}; not with --mixup)",
                              TrainOptions::kMixupMin))
      ->check(CLI::Range(0.0, TrainOptions::kMixupMax))
      ->capture_default_str();
  cmd->add_option("--stochastic-depth", a.train.stochastic_depth,
                  fmt::format("Skip each residual block's branch for this share of the images at the last block, "
                              "less in earlier ones (0 = off; 0.1-0.2 is usual; at most {})",
                              TrainOptions::kStochasticDepthMax))
      ->capture_default_str();
  cmd->add_option("--ema", a.train.ema,
                  "Keep an exponential moving average of the weights, this much of the old average per step "
                  "(0 = off; 0.998 is usual; below 1)")
      ->capture_default_str();
  cmd->add_option("--keep", a.keep, "Weights to keep: last (end of the schedule) or best (validation AUC)")
      ->check(CLI::IsMember({"best", "last"}))->capture_default_str();
  cmd->add_option("--threshold-rule", a.threshold_rule,
                  "Decision threshold: balanced (0.5, what the class-balanced loss trains for; transfers best to "
                  "shifted images), youden (tuned on validation) or target-sensitivity")
      ->check(CLI::IsMember({"youden", "balanced", "target-sensitivity"}))->capture_default_str();
  cmd->add_option("--patience", a.train.patience, "Early stopping patience in epochs (0 = off)")->capture_default_str();
  cmd->add_option("--threads", a.train.threads, "Torch threads (0 = OMP_NUM_THREADS if set, else all cores)")->capture_default_str();
  cmd->add_option("--workers", a.train.workers, "Augmentation threads")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--seed", a.train.seed, "Seed of split, initialisation, order and augmentation")->capture_default_str();
  cmd->add_option("--resume", a.resume, "Checkpoint to continue from (default checkpoint: OUTPUT.ckpt)");
  cmd->add_option("--report", a.report, "HTML report to write (default: OUTPUT.html)");
  cmd->add_flag("--bf16,!--no-bf16", a.train.bf16, "bfloat16 autocast (default where the CPU has AVX512-BF16: about 2x faster there)")
      ->capture_default_str();
  cmd->add_flag("--rgb", a.rgb, "Three input channels instead of grey");
  cmd->add_flag("--pneumonia-kinds", a.pneumonia_kinds,
                "Three classes: PNEUMONIA split into BACTERIAL and VIRAL by file name (_bacteria_, _virus_)");
}

// Everything that can be refused is refused before the data is loaded; returns the epochs
// (0 for auto).
int check_args(const TrainArgs& a, const std::string& report) {
  check_writable(a.output);
  check_writable(report);
  check_split_args(a.split);
  if (!a.auto_arch()) resnet_parameter_count(a.arch, 1, 2);  // unknown names fail now
  if (!a.auto_augment()) Augmenter{a.augment};                // as does a bad spec
  parse_duration(a.budget);
  if (a.auto_epochs()) return 0;
  int epochs = 0;
  try {
    epochs = std::stoi(a.epochs);
  } catch (const std::exception&) {
    throw InvalidArgument(fmt::format("--epochs must be a number or auto, not '{}'", a.epochs));
  }
  if (epochs < 1) throw InvalidArgument("--epochs must be at least 1");
  return epochs;
}

Dataset load_data(const TrainArgs& a) {
  DatasetOptions o;
  o.image_size = a.size;
  o.channels = a.rgb ? 3 : 1;
  o.pneumonia_kinds = a.pneumonia_kinds;
  Dataset data = Dataset::load(a.data, o);
  fmt::print("{}\n", data.summary());
  for (const auto& w : data.warnings()) fmt::print("warning: {}\n", w);
  for (const auto& s : data.skipped()) fmt::print("skipped {}: {}\n", s.path, s.reason);
  const auto counts = data.class_counts();
  if (counts.size() < 2 || std::count(counts.begin(), counts.end(), 0) > 0)
    throw DatasetError(fmt::format("{}: training needs images of at least two classes, each class non-empty", a.data));
  return data;
}

TrainOptions train_options(const TrainArgs& a, int epochs) {
  TrainOptions t = a.train;
  t.balance = parse_balance(a.balance);
  t.keep = parse_keep(a.keep);
  t.threshold_rule = parse_threshold_rule(a.threshold_rule);
  t.checkpoint = a.resume.empty() ? a.output + ".ckpt" : a.resume;
  t.resume = !a.resume.empty();
  t.epochs = epochs;
  if (!a.auto_augment()) t.augment = a.augment;
  return t;
}

// The "auto" choices, measured on this machine; fills them into `arch` and `t`.
AutoChoice choose(const TrainArgs& a, const Split& split, const ClassifierOptions& copt, std::string& arch, TrainOptions& t) {
  AutoSelectOptions ao;
  ao.auto_arch = a.auto_arch();
  ao.auto_epochs = a.auto_epochs();
  ao.auto_augment = a.auto_augment();
  ao.arch = arch;
  ao.epochs = t.epochs > 0 ? t.epochs : 10;
  ao.augment = a.augment;
  ao.budget_seconds = parse_duration(a.budget);
  ao.search = a.search;
  fmt::print("auto-select: measuring training speed on this machine...\n");
  const AutoChoice c = auto_select(split.train, split.val, copt, t, ao);
  for (const auto& m : c.measured) fmt::print("  {:<10} {:7.1f} images/s\n", m.arch, m.images_per_second);
  fmt::print("auto-select chose {} for {} epochs with '{}' augmentation (about {}).\n  why: {}\n", c.arch, c.epochs,
             c.augment, format_seconds(c.expected_seconds), c.reason);
  arch = c.arch;
  t.epochs = c.epochs;
  t.augment = c.augment;
  return c;
}

// After Ctrl-C: the same command with the auto choices filled in, plus --resume.
void print_resume_hint(const TrainArgs& a, const std::string& arch, const TrainOptions& t, int last_epoch) {
  std::vector<std::string> again = command_line();
  for (std::size_t i = 1; i < again.size(); ++i) {
    if (again[i] != "auto") continue;
    if (again[i - 1] == "--arch") again[i] = arch;
    if (again[i - 1] == "--epochs") again[i] = std::to_string(t.epochs);
    if (again[i - 1] == "--augment") again[i] = "'" + t.augment + "'";
  }
  if (a.resume.empty()) again.insert(again.end(), {"--resume", t.checkpoint});
  fmt::print("Epoch {} is in the checkpoint {}.\nResume with: {}\n", last_epoch, t.checkpoint, fmt::join(again, " "));
}

int run_train(const TrainArgs& a) {
  const std::string report = a.report.empty() ? a.output + ".html" : a.report;
  const int epochs = check_args(a, report);
  const Dataset data = load_data(a);
  SplitArgs split_args = a.split;
  split_args.seed = a.train.seed;
  const Split split = make_split(data, split_args);
  fmt::print("{}", describe_split(split));

  ClassifierOptions copt;
  copt.image_size = a.size;
  copt.channels = data.channels();
  copt.seed = a.train.seed;
  TrainOptions t = train_options(a, epochs);
  std::string arch = a.arch;
  std::optional<AutoChoice> auto_choice;
  if (a.auto_arch() || a.auto_epochs() || a.auto_augment()) auto_choice = choose(a, split, copt, arch, t);

  ResNetClassifier model(arch, data.classes(), copt);
  if (!a.pretrained.empty()) fmt::print("pretrained: {}\n", model.load_torchvision(a.pretrained));
  install_interrupt_handler();
  ProgressPrinter printer;
  fmt::print("training {} at {}x{} for {} epochs, augmentation '{}'\n", arch, a.size, a.size, t.epochs,
             Augmenter(t.augment).to_string());
  const FitResult r = model.fit(split.train, split.val, t, std::ref(printer));
  if (r.cancelled) {
    fmt::print("\nstopped (Ctrl-C or SIGTERM). ");
    if (r.history.empty()) {
      fmt::print("No epoch was finished; nothing was saved.\n");
      return interrupted_exit_status();
    }
    print_resume_hint(a, arch, t, r.history.back().epoch);
  }
  if (auto_choice) {
    ModelCard card = model.card();
    card.auto_select = auto_choice;
    model.set_provenance(card.provenance_json());
  }
  model.save(a.output);
  save_html_report(report, r.validation, r.history, "xraykit: " + a.output);
  fmt::print("\nkept epoch {} of {} (best validation AUC: epoch {}){}\n\n{}\nmodel:  {}\nreport: {}\n", r.kept_epoch,
             r.history.size(), r.best_epoch, r.stopped_early ? " (early stop)" : "", r.validation.to_text(), a.output,
             report);
  return r.cancelled ? interrupted_exit_status() : 0;
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>(default_args());
  auto* cmd = app.add_subcommand("train", "Train a classifier on a folder of labelled X-rays");
  cmd->footer(
      "Examples:\n"
      "  xraykit train chest_xray/train -o pneumonia.xrk --size 128 --epochs 10\n"
      "  xraykit train chest_xray/train -o pneumonia.xrk --arch auto --epochs auto --augment auto --budget 20m\n"
      "  xraykit train chest_xray/train -o pneumonia.xrk --resume pneumonia.xrk.ckpt\n"
      "Ctrl-C or SIGTERM stops after the current step; the last finished epoch is kept in the checkpoint.");
  add_options(cmd, *args);
  return [args] { return run_train(*args); };
}

}  // namespace xraykit::cli
