// `xraykit demo`: the whole flow in a few minutes: data -> patient-disjoint split -> train ->
// evaluate -> HTML report -> predict. On the real chest X-rays when they are at hand,
// otherwise on a synthetic set it draws itself, and it says which.
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "commands.hpp"
#include "progress.hpp"
#include "util/rng.hpp"
#include "xraykit/classifier.hpp"

namespace fs = std::filesystem;

namespace xraykit::cli {

namespace {

// Grey "radiographs": a noisy chest-like gradient; PNEUMONIA ones carry a soft bright
// opacity in one lung field. Five images per synthetic patient.
void draw_synthetic(const fs::path& root, int per_class) {
  Rng rng(7);
  auto rnd = [&rng] { return rng.uniform(); };
  for (int cls = 0; cls < 2; ++cls) {
    const char* name = cls ? "PNEUMONIA" : "NORMAL";
    fs::create_directories(root / name);
    for (int i = 0; i < per_class; ++i) {
      const int n = 96;
      Image img{n, n, 1, std::vector<std::uint8_t>(n * n)};
      const double ox = 0.25 + 0.5 * rnd(), oy = 0.3 + 0.4 * rnd();
      for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x) {
          const double cx = std::abs(x - n / 2.0) / n, v = 40 + 120 * cx + 30 * std::sin(y * 0.5) * cx + 25 * rnd();
          const double d = std::hypot(x / double(n) - ox, y / double(n) - oy);
          img.pixels[y * n + x] = static_cast<std::uint8_t>(std::min(255.0, v + (cls ? 90 * std::exp(-d * d / 0.01) : 0)));
        }
      save_png(img, (root / name / fmt::format("person{}_{}_{}.png", cls * 10000 + i / 5, cls ? "virus" : "bacteria", i)).string());
    }
  }
}

}  // namespace

Command add_demo_command(CLI::App& app) {
  struct Args {
    std::string data, out = "xraykit-demo";
    int size = 96, epochs = 3;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("demo", "Train, evaluate, report and predict end to end in a few minutes");
  cmd->footer("Examples:\n  xraykit demo\n  xraykit demo --data chest_xray/train --size 128 --epochs 5 --out demo128\n"
              "Uses $XRAYKIT_DATA or ../shared/data/chest_xray/train when present, else draws a synthetic set.");
  cmd->add_option("--data", a->data, "Training folder (default: $XRAYKIT_DATA, ../shared/data/chest_xray/train)");
  cmd->add_option("--out", a->out, "Output folder")->capture_default_str();
  cmd->add_option("--size", a->size, "Input size")->check(CLI::Range(32, 512))->capture_default_str();
  cmd->add_option("--epochs", a->epochs, "Epochs")->check(CLI::Range(1, 100))->capture_default_str();
  return [a] {
    fs::create_directories(a->out);
    std::string data = a->data;
    if (data.empty()) {
      const char* env = std::getenv("XRAYKIT_DATA");
      if (env && *env) data = env;
      else if (fs::is_directory("../shared/data/chest_xray/train")) data = "../shared/data/chest_xray/train";
    }
    if (data.empty()) {
      data = (fs::path(a->out) / "synthetic-data").string();
      fmt::print("== Real data not found: drawing a SYNTHETIC dataset in {} (figures below are not medical)\n", data);
      draw_synthetic(data, 300);
    } else {
      fmt::print("== Real data: {} (Kermany et al., Cell 2018, CC BY 4.0)\n", data);
    }

    DatasetOptions dopt;
    dopt.image_size = a->size;
    const Dataset all = Dataset::load(data, dopt);
    const Split split = all.split(0.15, 42);
    fmt::print("\n== 1. Data\n{}\n{}", all.summary(), describe_split(split));

    ClassifierOptions copt;
    copt.image_size = a->size;
    ResNetClassifier model("resnet18", all.classes(), copt);
    TrainOptions t;
    t.epochs = a->epochs;
    t.checkpoint = (fs::path(a->out) / "demo.ckpt").string();
    fmt::print("\n== 2. Training ResNet-18 at {}x{} for {} epochs (Ctrl-C stops cleanly)\n", a->size, a->size, t.epochs);
    install_interrupt_handler();
    ProgressPrinter printer;
    const FitResult r = model.fit(split.train, split.val, t, std::ref(printer));
    if (r.history.empty()) return interrupted_exit_status();

    const std::string model_path = (fs::path(a->out) / "pneumonia.xrk").string();
    const std::string report = (fs::path(a->out) / "report.html").string();
    model.save(model_path);
    save_html_report(report, r.validation, r.history, "xraykit demo");
    r.validation.save_json((fs::path(a->out) / "metrics.json").string());
    fmt::print("\n== 3. Evaluation\n{}", r.validation.to_text());

    fmt::print("\n== 4. Predicting a few validation images (patients never trained on)\n");
    for (std::size_t i = 0; i < split.val.size(); i += std::max<std::size_t>(1, split.val.size() / 6)) {
      const Prediction p = model.predict_file(split.val.path(i));
      fmt::print("  {:<60} truth {:<10} predicted {:<10} P({})={:.3f}\n", fs::path(split.val.path(i)).filename().string(),
                 all.classes()[split.val.label(i)], p.class_name, all.classes()[1], p.probabilities[1]);
    }
    fmt::print("\nmodel:  {}\nreport: {}\nnext:   xraykit predict {} IMAGE...\n", model_path, report, model_path);
    return r.cancelled ? interrupted_exit_status() : 0;
  };
}

}  // namespace xraykit::cli
