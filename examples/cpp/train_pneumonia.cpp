// Train a pediatric pneumonia detector and read honest metrics: the whole xraykit flow.
// usage: train_pneumonia DATA_DIR [OUT_DIR] [EPOCHS] [SIZE]
#include <cstdio>
#include <string>

#include <xraykit/xraykit.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA_DIR [OUT_DIR] [EPOCHS] [SIZE]\n", argv[0]);
    return 2;
  }
  const std::string out = argc > 2 ? argv[2] : ".";
  try {
    xraykit::DatasetOptions data_opt;
    data_opt.image_size = argc > 4 ? std::stoi(argv[4]) : 128;
    const auto data = xraykit::Dataset::from_folder(argv[1], data_opt);  // NORMAL/, PNEUMONIA/
    const auto split = data.split(0.15, /*seed=*/42);                      // by patient
    std::printf("%s\n%s", data.summary().c_str(), xraykit::describe_split(split).c_str());

    xraykit::ClassifierOptions model_opt;
    model_opt.image_size = data_opt.image_size;
    xraykit::ResNetClassifier model("resnet18", data.classes(), model_opt);

    xraykit::TrainOptions train_opt;
    train_opt.epochs = argc > 3 ? std::stoi(argv[3]) : 5;
    train_opt.augment = "light";
    train_opt.checkpoint = out + "/train.ckpt";
    train_opt.resume = true;  // a second run continues where an interrupted one stopped
    const auto result = model.fit(split.train, split.val, train_opt, [](const xraykit::Progress& p) {
      if (p.epoch_end)
        std::printf("epoch %d/%d  loss %.3f  val AUC %.3f  %.0f img/s\n", p.epoch, p.epochs, p.loss, p.record.val_auc,
                    p.images_per_second);
      return true;
    });

    std::printf("\n%s", result.validation.to_text().c_str());
    model.save(out + "/pneumonia.xrk");
    xraykit::save_html_report(out + "/report.html", result.validation, result.history);
    const auto p = model.predict(split.val.image(0));
    std::printf("\n%s -> %s (P = %.3f)\n", split.val.path(0).c_str(), p.class_name.c_str(), p.probabilities[1]);
  } catch (const xraykit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
