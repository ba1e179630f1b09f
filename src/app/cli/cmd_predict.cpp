// `xraykit predict model.xrk IMG|DIR ...`: one line per image, batched internally.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "commands.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/error.hpp"
#include "xraykit/image.hpp"

namespace fs = std::filesystem;

namespace xraykit::cli {

namespace {

// The images named by the inputs: files as given, folders searched recursively (sorted).
// Prints and counts each input that does not exist.
std::vector<std::string> image_files(const std::vector<std::string>& inputs, int& missing) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(in, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && is_image_file(it->path().string())) found.push_back(it->path().string());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(in, ec)) {
      files.push_back(in);
    } else {
      fmt::print(stderr, "{}: no such file or folder\n", in);
      ++missing;
    }
  }
  return files;
}

// One line per image on stdout; a failure's reason on stderr.
void print_result(const ResNetClassifier& model, const FilePrediction& r) {
  if (!r.ok) {
    fmt::print(stderr, "{}\n", r.error);
    return;
  }
  const Prediction& p = r.prediction;
  const std::string note =
      p.out_of_distribution() ? fmt::format("\tnot like the training X-rays (score {:.2f} > 1)", p.ood_score) : "";
  if (model.classes().size() == 2)
    fmt::print("{}\t{}\tP({})={:.4f}{}\n", r.path, shown_label(p), model.classes()[1], p.probabilities[1], note);
  else
    fmt::print("{}\t{}\tP={:.4f}{}\n", r.path, shown_label(p), p.probabilities[p.label], note);
}

}  // namespace

Command add_predict_command(CLI::App& app) {
  struct Args {
    std::string model, csv, shipped;
    std::vector<std::string> inputs;
    double threshold = -1;
    bool tta = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("predict", "Classify images with a trained model");
  cmd->footer("Examples:\n  xraykit predict scan1.jpeg                         # the shipped pneumonia model\n"
              "  xraykit predict pneumonia.xrk scan1.jpeg scan2.png\n"
              "  xraykit predict pneumonia.xrk incoming/ --csv results.csv\n"
              "  xraykit predict --shipped pneumonia-kinds scan1.jpeg  # NORMAL / BACTERIAL / VIRAL\n"
              "Images unlike the X-rays the model was trained on (photos, other body parts, blank films) are\n"
              "labelled UNCERTAIN with their out-of-distribution score instead of a class.\n"
              "Exit status: 0 if every image was classified, 1 if any could not be read.");
  cmd->add_option("INPUTS", a->inputs,
                  "A model file (.xrk; default: the pneumonia model shipped with xraykit), then image files or folders "
                  "(searched recursively)")
      ->required();
  cmd->add_option("--csv", a->csv, "Also write the results as CSV");
  cmd->add_option("--shipped", a->shipped,
                  "Which shipped model answers when no model file is given: pneumonia (NORMAL/PNEUMONIA) or "
                  "pneumonia-kinds (NORMAL/BACTERIAL/VIRAL); default pneumonia");
  cmd->add_option("--threshold", a->threshold, "Decision threshold on P(positive class) (default: the model's)");
  cmd->add_flag("--tta", a->tta, fmt::format("Test-time augmentation ({} passes)", 1 + ResNetClassifier::kTtaCopies));
  return [a] {
    // The first input names the model when it is a model file (a checkpoint gets load's
    // message saying what it is); otherwise the shipped model answers.
    const auto first = fs::path(a->inputs.front()).extension();
    if (first == ".xrk" || first == ".ckpt") {
      if (!a->shipped.empty()) throw InvalidArgument("give a model file or --shipped, not both");
      a->model = a->inputs.front();
      a->inputs.erase(a->inputs.begin());
    } else {
      a->model = shipped_model_path(a->shipped.empty() ? "pneumonia" : a->shipped);
    }
    if (a->inputs.empty()) throw InvalidArgument("no image given to classify (after the model file)");
    ResNetClassifier model = ResNetClassifier::load(a->model);
    if (a->threshold >= 0) model.set_threshold(a->threshold);
    int failed = 0;
    const std::vector<std::string> files = image_files(a->inputs, failed);
    const auto results = model.predict_files(files, a->tta, [&](const FilePrediction& r) { print_result(model, r); });
    if (!a->csv.empty()) save_predictions_csv(a->csv, model.classes(), results);
    int unusual = 0;
    for (const auto& r : results) {
      failed += !r.ok;
      unusual += r.ok && r.prediction.out_of_distribution();
    }
    if (model.classes().size() == 2)
      fmt::print(stderr, "threshold {:.4f} on P({})\n", model.threshold(), model.classes()[1]);
    if (unusual)
      fmt::print(stderr, "{} image(s) unlike the X-rays the model was trained on: labelled {}, no class given\n", unusual,
                 kUncertainLabel);
    if (!model.has_ood_check())
      fmt::print(stderr, "note: this model has no out-of-distribution check (trained before it); retrain to get one\n");
    if (failed) fmt::print(stderr, "{} input(s) could not be classified\n", failed);
    return failed ? 1 : 0;
  };
}

}  // namespace xraykit::cli
