// End to end on the real chest X-rays (a subset, 64 px, two short epochs): the pipeline must
// reach a validation AUC that a broken one cannot, and shuffled labels must not.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include "support.hpp"
#include "xraykit/classifier.hpp"

using namespace xraykit;
using namespace testsupport;

namespace {

struct Setup {
  Dataset train, val;
};

// Every `every`-th training image; the patient-disjoint validation split whole.
Setup real_subset(std::size_t every) {
  const std::string dir = real_data_dir();
  REQUIRE_MESSAGE(!dir.empty(), "real data not found: set XRAYKIT_DATA");
  DatasetOptions o;
  o.image_size = 64;
  const Dataset all = Dataset::from_folder(dir, o);
  const Split s = all.split(0.15, 42);
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < s.train.size(); i += every) kept.push_back(i);
  return {s.train.subset(kept), s.val};
}

ResNetClassifier model64(const Dataset& data) {
  ClassifierOptions co;
  co.image_size = 64;
  return ResNetClassifier("resnet18", data.classes(), co);
}

FitResult train(ResNetClassifier& model, const Dataset& train, const Dataset& val) {
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 32;
  o.augment = "light";
  o.bootstrap = 200;
  return model.fit(train, val, o);
}

}  // namespace

TEST_CASE("real data: a small ResNet-18 at 64 px separates pneumonia on unseen patients") {
  const Setup s = real_subset(3);
  CHECK(s.train.size() > 1400);
  ResNetClassifier model = model64(s.train);
  const FitResult r = train(model, s.train, s.val);
  MESSAGE("validation AUC " << r.validation.auc.value << " [" << r.validation.auc.lo << ", " << r.validation.auc.hi << "]");
  CHECK(r.validation.auc.value > 0.93);
  CHECK(r.validation.per_class[1].sensitivity.value > 0.8);
  CHECK(r.validation.per_class[1].specificity.value > 0.7);

  // The same model on the full-size radiographs and on the set's 224 px copies of them: the
  // stated tolerance is a mean probability difference below 0.03 and at most 2 of 80 labels.
  const fs::path data = real_data_dir();
  const fs::path full = data.parent_path().parent_path() / "fullres_sample";
  double diff = 0;
  int files = 0, disagree = 0;
  for (const char* cls : {"NORMAL", "PNEUMONIA"}) {
    for (const auto& e : fs::directory_iterator(full / cls)) {
      const Prediction big = model.predict_file(e.path().string());
      const Prediction small = model.predict_file((data / cls / e.path().filename()).string());
      diff += std::abs(big.probabilities[1] - small.probabilities[1]);
      disagree += big.label != small.label;
      ++files;
    }
  }
  MESSAGE("full size vs 224 px copies: mean |dp| " << diff / files << ", " << disagree << " of " << files
                                                   << " labels differ");
  CHECK(files == 80);
  CHECK(diff / files < 0.03);
  CHECK(disagree <= 2);

  // Fast inference (folded, oneDNN, bf16 where the CPU has it) on a trained model and real
  // children: the stated tolerance is a mean probability difference below 0.005 and at most
  // 1% of labels.
  std::vector<Image> images;
  for (std::size_t i = 0; i < s.val.size(); i += 2) images.push_back(s.val.image(i));
  model.set_inference(Inference::Fast);
  const auto fast = model.predict(images);
  model.set_inference(Inference::Exact);
  const auto exact = model.predict(images);
  double gap = 0;
  std::size_t flipped = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    gap += std::abs(fast[i].probabilities[1] - exact[i].probabilities[1]);
    flipped += fast[i].label != exact[i].label;
  }
  MESSAGE("fast vs exact on " << images.size() << " validation images: mean |dp| " << gap / images.size() << ", "
                              << flipped << " labels differ");
  CHECK(gap / images.size() < 0.005);
  CHECK(flipped <= images.size() / 100);
}

TEST_CASE("real data: with shuffled training labels the validation AUC stays near chance") {
  const Setup s = real_subset(6);  // a link between images and labels would show with fewer images too
  std::vector<Image> images;
  std::vector<int> labels;
  std::vector<std::string> patients;
  for (std::size_t i = 0; i < s.train.size(); ++i) {
    images.push_back(s.train.image(i));
    labels.push_back(s.train.label(i));
    patients.push_back(s.train.patient(i));
  }
  // A seeded permutation keeps the class balance and breaks every image-label link.
  Lcg rnd{12345};
  for (std::size_t i = labels.size(); i > 1; --i) std::swap(labels[i - 1], labels[rnd() % i]);
  DatasetOptions o;
  o.image_size = 64;
  const Dataset shuffled = Dataset::from_images(images, labels, s.train.classes(), patients, o);
  ResNetClassifier model = model64(shuffled);
  const FitResult r = train(model, shuffled, s.val);
  MESSAGE("validation AUC with shuffled labels " << r.validation.auc.value << " (epochs: " << r.history.front().val_auc
                                                 << ", " << r.history.back().val_auc << ")");
  // A network fitted to random labels still outputs some function of the image (brightness,
  // framing), and such features correlate with the true class either way: its AUC wanders
  // (0.25-0.6 seen across epochs here). What it must not do is rank the true classes well,
  // which would mean labels reach training by another path.
  CHECK(r.validation.auc.value < 0.7);
}
