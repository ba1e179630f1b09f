// `xraykit predict model.xrk IMG|DIR ...`: one line per image, batched internally.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "commands.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/error.hpp"
#include "xraykit/image.hpp"
#include "xraykit/io.hpp"

namespace fs = std::filesystem;

namespace xraykit::cli {

namespace {
// The label of an image the out-of-distribution check refuses.
constexpr const char* kUncertain = "UNCERTAIN";
}  // namespace

Command add_predict_command(CLI::App& app) {
  struct Args {
    std::string model, csv;
    std::vector<std::string> inputs;
    double threshold = -1;
    bool tta = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("predict", "Classify images with a trained model");
  cmd->footer("Examples:\n  xraykit predict scan1.jpeg                         # the shipped pneumonia model\n"
              "  xraykit predict pneumonia.xrk scan1.jpeg scan2.png\n"
              "  xraykit predict pneumonia.xrk incoming/ --csv results.csv\n"
              "Images unlike the X-rays the model was trained on (photos, other body parts, blank films) are\n"
              "labelled UNCERTAIN with their out-of-distribution score instead of a class.\n"
              "Exit status: 0 if every image was classified, 1 if any could not be read.");
  cmd->add_option("INPUTS", a->inputs,
                  "A model file (.xrk; default: the pneumonia model shipped with xraykit), then image files or folders "
                  "(searched recursively)")
      ->required();
  cmd->add_option("--csv", a->csv, "Also write the results as CSV");
  cmd->add_option("--threshold", a->threshold, "Decision threshold on P(positive class) (default: the model's)");
  cmd->add_flag("--tta", a->tta, "Test-time augmentation (5 passes)");
  return [a] {
    // The first input names the model when it is a model file (a checkpoint gets load's
    // message saying what it is); otherwise the shipped model answers.
    auto ends_with = [](const std::string& s, const std::string& end) {
      return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
    };
    if (ends_with(a->inputs.front(), ".xrk") || ends_with(a->inputs.front(), ".ckpt")) {
      a->model = a->inputs.front();
      a->inputs.erase(a->inputs.begin());
    } else {
      a->model = shipped_model_path();
    }
    if (a->inputs.empty()) throw InvalidArgument("no image given to classify (after the model file)");
    ResNetClassifier model = ResNetClassifier::load(a->model);
    if (a->threshold >= 0) model.set_threshold(a->threshold);
    std::vector<std::string> files;
    int failed = 0;
    for (const auto& in : a->inputs) {
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
        ++failed;
      }
    }
    const bool binary = model.classes().size() == 2;
    std::string csv = "path,label";
    for (const auto& c : model.classes()) csv += ",p_" + csv_field(c);
    csv += ",ood_score,error\n";
    int unusual = 0;
    model.predict_files(files, a->tta, [&](const FilePrediction& r) {
      if (!r.ok) {
        fmt::print(stderr, "{}\n", r.error);
        csv += csv_field(r.path) + ",," + std::string(model.classes().size() + 1, ',') + csv_field(r.error) + "\n";
        ++failed;
        return;
      }
      const Prediction& p = r.prediction;
      // An image unlike the training X-rays gets no class: its probabilities mean nothing.
      const std::string label = p.out_of_distribution() ? std::string(kUncertain) : p.class_name;
      const std::string note =
          p.out_of_distribution() ? fmt::format("\tnot like the training X-rays (score {:.2f} > 1)", p.ood_score) : "";
      if (binary)
        fmt::print("{}\t{}\tP({})={:.4f}{}\n", r.path, label, model.classes()[1], p.probabilities[1], note);
      else
        fmt::print("{}\t{}\tP={:.4f}{}\n", r.path, label, p.probabilities[p.label], note);
      unusual += p.out_of_distribution();
      csv += csv_field(r.path) + "," + csv_field(label);
      for (float v : p.probabilities) csv += fmt::format(",{:.6f}", v);
      csv += std::isnan(p.ood_score) ? ",," : fmt::format(",{:.4f},", p.ood_score);
      csv += "\n";
    });
    if (!a->csv.empty()) save_text(a->csv, csv);
    if (binary) fmt::print(stderr, "threshold {:.4f} on P({})\n", model.threshold(), model.classes()[1]);
    if (unusual)
      fmt::print(stderr, "{} image(s) unlike the X-rays the model was trained on: labelled {}, no class given\n", unusual,
                 kUncertain);
    if (!model.has_ood_check())
      fmt::print(stderr, "note: this model has no out-of-distribution check (trained before it); retrain to get one\n");
    if (failed) fmt::print(stderr, "{} input(s) could not be classified\n", failed);
    return failed ? 1 : 0;
  };
}

}  // namespace xraykit::cli
