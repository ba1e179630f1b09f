// `xraykit evaluate model.xrk DATA`: metrics with patient-level intervals on labelled data.
#include <algorithm>

#include <fmt/format.h>

#include "commands.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/error.hpp"
#include "xraykit/shift.hpp"

namespace xraykit::cli {

Command add_evaluate_command(CLI::App& app) {
  struct Args {
    std::string model, data, report, json, name;
    int bootstrap = 1000;
    std::uint64_t seed = 0;
    bool shifts = false, exact = false, tta = false;
    double threshold = -1;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("evaluate", "Evaluate a model on labelled images (confusion matrix, metrics, 95% intervals)");
  cmd->footer("Examples:\n  xraykit evaluate pneumonia.xrk hospital_b/ --report b.html --json b.json\n"
              "  xraykit evaluate pneumonia.xrk val.csv --shifts\n"
              "Evaluate on patients the model never saw; the training folder gives optimistic numbers.");
  cmd->add_option("MODEL", a->model, "Model file")->required();
  cmd->add_option("DATA", a->data, "Folder with one subfolder per class, or a CSV manifest")->required();
  cmd->add_option("--report", a->report, "HTML report to write");
  cmd->add_option("--json", a->json, "JSON results to write");
  cmd->add_option("--name", a->name, "Name of this data in the outputs (default: the path)");
  cmd->add_option("--bootstrap", a->bootstrap, "Patient-level bootstrap resamples (0 = none)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Bootstrap seed")->capture_default_str();
  cmd->add_option("--threshold", a->threshold, "Decision threshold on P(positive class) instead of the model's")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--exact", a->exact, "Exact fp32 inference instead of the fast path (folded, bf16 where the CPU has it)");
  cmd->add_flag("--tta", a->tta,
                fmt::format("Test-time augmentation: average each image and {} lightly augmented copies ({} passes)",
                            ResNetClassifier::kTtaCopies, 1 + ResNetClassifier::kTtaCopies));
  cmd->add_flag("--shifts", a->shifts,
                "Also evaluate under controlled changes of contrast, exposure, blur, noise, resolution and "
                "positioning (the shift benchmark: will the figures hold at another hospital?)");
  return [a] {
    ResNetClassifier model = ResNetClassifier::load(a->model);
    if (a->exact) model.set_inference(Inference::Exact);
    if (a->threshold >= 0) model.set_threshold(a->threshold);
    DatasetOptions o;
    o.image_size = model.image_size();
    o.channels = model.channels();
    o.classes = model.classes();
    // A three-class pneumonia model reads NORMAL/PNEUMONIA folders by the kinds in the file names.
    const auto& c = model.classes();
    o.pneumonia_kinds = std::find(c.begin(), c.end(), "BACTERIAL") != c.end() && std::find(c.begin(), c.end(), "VIRAL") != c.end();
    const Dataset data = Dataset::load(a->data, o);
    fmt::print("{}\n", data.summary());
    for (const auto& s : data.skipped()) fmt::print("skipped {}: {}\n", s.path, s.reason);
    EvalOptions e;
    e.split = a->name.empty() ? a->data : a->name;
    if (a->tta) e.split += " (test-time augmentation)";
    e.bootstrap = a->bootstrap;
    e.seed = a->seed;
    const Evaluation ev = model.evaluate(data, e, a->tta);
    fmt::print("\n{}", ev.to_text());
    if (a->shifts) {
      e.bootstrap = 0;  // the table shows point figures; intervals per shift would take minutes
      fmt::print("\nshift benchmark at threshold {:.3f} (the same images under controlled changes):\n{}",
                 model.threshold(), shift_table(shift_benchmark(model, data, standard_shifts(), e, a->tta)));
    }
    if (!a->report.empty()) save_html_report(a->report, ev, {}, "xraykit: " + a->model + " on " + e.split);
    if (!a->json.empty()) ev.save_json(a->json);
    if (!a->report.empty()) fmt::print("report: {}\n", a->report);
    if (!a->json.empty()) fmt::print("json:   {}\n", a->json);
    return 0;
  };
}

}  // namespace xraykit::cli
