// ModelCard: the provenance's JSON round trip, files from earlier versions, refusals, and
// the text and HTML renderings; Evaluation::figure and the EpochRecord JSON form.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "support.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/error.hpp"
#include "xraykit/evaluator.hpp"
#include "xraykit/model_card.hpp"

using namespace xraykit;

namespace {

ModelCard trained_card() {
  ModelCard c;
  c.trained = true;
  c.library_version = "9.9.9";
  c.train_data = "10 images <b>";
  c.validation_data = "4 images";
  c.augmentation = "rotate=5";
  c.options.epochs = 3;
  c.options.optimizer = Optimizer::Sgd;
  c.options.balance = Balance::Sampler;
  c.options.keep = Keep::Best;
  c.options.threshold_rule = ThresholdRule::Youden;
  c.options.bf16 = true;
  c.options.seed = 7;
  c.epochs_run = 3;
  c.best_epoch = 2;
  c.kept_epoch = 2;
  c.history = {{1, 0.7, 0.6, std::numeric_limits<double>::quiet_NaN(), 0.5, 1e-3, 2.0}, {2, 0.4, 0.3, 0.9, 0.8, 5e-4, 2.1}};
  ValidationFigures v;
  v.split = "validation (patient-disjoint)";
  v.images = 4;
  v.patients = 3;
  v.threshold = 0.4;
  v.figures = {{"auc", {0.9, 0.8, 1.0}}, {"sensitivity", {std::numeric_limits<double>::quiet_NaN(), 0, 0}}};
  c.validation = v;
  AutoChoice a;
  a.arch = "resnet34";
  a.epochs = 12;
  a.reason = "because";
  a.budget_seconds = 600;
  a.measured = {{"resnet18", 80}, {"resnet34", 40}};
  c.auto_select = a;
  return c;
}

}  // namespace

TEST_CASE("model card: the provenance survives a JSON round trip") {
  const ModelCard c = trained_card();
  ModelCard back;
  back.parse_provenance(c.provenance_json());
  CHECK(back.trained);
  CHECK(back.library_version == "9.9.9");
  CHECK(back.train_data == c.train_data);
  CHECK(back.options.optimizer == Optimizer::Sgd);
  CHECK(back.options.balance == Balance::Sampler);
  CHECK(back.options.keep == Keep::Best);
  CHECK(back.options.threshold_rule == ThresholdRule::Youden);
  CHECK(back.options.bf16);
  CHECK(back.options.seed == 7);
  CHECK(back.best_epoch == 2);
  REQUIRE(back.history.size() == 2);
  CHECK(std::isnan(back.history[0].val_auc));
  CHECK(back.history[1].val_auc == doctest::Approx(0.9));
  REQUIRE(back.validation.has_value());
  CHECK(back.validation->threshold == doctest::Approx(0.4));
  REQUIRE(back.validation->figures.size() == 2);
  CHECK(back.validation->figures[0].first == "auc");
  CHECK(std::isnan(back.validation->figures[1].second.value));
  REQUIRE(back.auto_select.has_value());
  CHECK(back.auto_select->arch == "resnet34");
  CHECK(back.auto_select->budget_seconds == doctest::Approx(600));
  CHECK(back.auto_select->measured.size() == 2);
  CHECK(back.provenance_json() == c.provenance_json());
}

TEST_CASE("model card: a fresh model has none, an old file's fields are read where present, bad JSON is refused") {
  ModelCard fresh;
  fresh.parse_provenance("{}");
  CHECK_FALSE(fresh.trained);
  CHECK(fresh.provenance_json() == "{}");
  // An earlier version wrote no kept_epoch, keep or threshold_rule.
  ModelCard old;
  old.parse_provenance(R"({"library_version": "0.1.0", "options": {"epochs": 4, "seed": 3}, "epochs_run": 4,
                           "best_epoch": 3, "history": [], "augmentation": "light"})");
  CHECK(old.trained);
  CHECK(old.options.epochs == 4);
  CHECK(old.kept_epoch == 0);
  CHECK(old.options.keep == TrainOptions{}.keep);
  CHECK_THROWS_WITH_AS(old.parse_provenance("{not json"), doctest::Contains("malformed provenance"), InvalidArgument);
  CHECK_THROWS_AS(old.parse_provenance(R"({"options": {"epochs": "four"}})"), InvalidArgument);
  CHECK_THROWS_AS(old.parse_provenance("[1, 2]"), InvalidArgument);
  ResNetClassifier m("resnet18", {"a", "b"});
  CHECK_THROWS_AS(m.set_provenance(R"({"history": [{"epoch": 1}]})"), InvalidArgument);
  m.set_provenance(trained_card().provenance_json());
  CHECK(m.card().best_epoch == 2);
  CHECK(m.card().arch == "resnet18");
  CHECK(m.card().parameters > 11'000'000);
}

TEST_CASE("model card: text and HTML say what the model is, escape what the data says, and state the intended use") {
  ModelCard c = trained_card();
  c.arch = "resnet18";
  c.classes = {"NORMAL", "PNEUMONIA"};
  c.image_size = 128;
  c.channels = 1;
  const std::string text = c.to_text();
  CHECK(text.find("architecture  resnet18") != std::string::npos);
  CHECK(text.find("threshold     0.5000 on P(PNEUMONIA)") != std::string::npos);
  CHECK(text.find("validation    validation (patient-disjoint) split, 4 images, 3 patients") != std::string::npos);
  CHECK(text.find("sensitivity") != std::string::npos);
  CHECK(text.find("n/a") != std::string::npos);
  CHECK(text.find("auto-select   because") != std::string::npos);
  CHECK(text.find("intended use") != std::string::npos);
  const std::string html = c.to_html();
  CHECK(html.find("10 images &lt;b&gt;") != std::string::npos);
  CHECK(html.find("<b>validation (patient-disjoint)</b>") != std::string::npos);
  CHECK(html.find("Intended use") != std::string::npos);
  CHECK(text.find("ood check     none") != std::string::npos);
}

TEST_CASE("model card: the publisher's notes travel in the provenance, trained or not, and are escaped in HTML") {
  ModelCard c = trained_card();
  c.notes = "Data: Kermany et al. 2018 (CC BY 4.0)\nLimits: <one hospital>";
  ModelCard back;
  back.parse_provenance(c.provenance_json());
  CHECK(back.notes == c.notes);
  CHECK(back.to_text().find("Limits: <one hospital>") != std::string::npos);
  CHECK(back.to_html().find("2018 (CC BY 4.0)<br>Limits: &lt;one hospital&gt;") != std::string::npos);
  ModelCard untrained;
  untrained.notes = "made elsewhere";
  ModelCard read;
  read.parse_provenance(untrained.provenance_json());
  CHECK_FALSE(read.trained);
  CHECK(read.notes == "made elsewhere");
  c.ood_check = true;
  c.ood_quantile = 0.995;
  CHECK(c.to_text().find("than 99.5% of held-out ones are answered UNCERTAIN") != std::string::npos);
}

TEST_CASE("Evaluation::figure finds figures by name and refuses per-class names on multi-class evaluations") {
  EvalOptions o;
  o.bootstrap = 0;
  Evaluator two({"a", "b"}, o), three({"a", "b", "c"}, o);
  for (int i = 0; i < 12; ++i) {
    two.add({i % 2 ? 0.2f : 0.8f, i % 2 ? 0.8f : 0.2f}, i % 2, "p" + std::to_string(i));
    three.add({0.8f, 0.1f, 0.1f}, i % 3, "p" + std::to_string(i));
  }
  const Evaluation e2 = two.evaluate(), e3 = three.evaluate();
  CHECK(e2.figure("accuracy").value == doctest::Approx(1.0));
  CHECK(&e2.figure("sensitivity") == &e2.per_class[1].sensitivity);
  CHECK(&e3.figure("auc") == &e3.auc);
  CHECK_THROWS_WITH_AS(e3.figure("sensitivity"), doctest::Contains("per class"), InvalidArgument);
  CHECK_THROWS_WITH_AS(e2.figure("kappa"), doctest::Contains("unknown figure 'kappa'"), InvalidArgument);
}

TEST_CASE("EpochRecord JSON: round trip, NaN as null, refusals") {
  const EpochRecord r{3, 0.25, 0.5, std::numeric_limits<double>::quiet_NaN(), 0.75, 1e-4, 12.5};
  const std::string j = to_json(r);
  CHECK(j.find("\"val_auc\":null") != std::string::npos);
  const EpochRecord back = epoch_record_from_json(j);
  CHECK(back.epoch == 3);
  CHECK(back.val_loss == doctest::Approx(0.5));
  CHECK(std::isnan(back.val_auc));
  CHECK(back.seconds == doctest::Approx(12.5));
  CHECK_THROWS_AS(epoch_record_from_json("{\"epoch\": 1}"), InvalidArgument);
  CHECK_THROWS_AS(epoch_record_from_json("nope"), InvalidArgument);
}

TEST_CASE("model card: three classes keep their confusion matrix and per-class figures, in JSON, text and HTML") {
  EvalOptions o;
  o.bootstrap = 0;
  Evaluator three({"NORMAL", "BACTERIAL", "VIRAL"}, o);
  // True class i % 3; every third VIRAL image is called BACTERIAL.
  for (int i = 0; i < 30; ++i) {
    const int truth = i % 3;
    const int called = truth == 2 && i % 9 == 2 ? 1 : truth;
    std::vector<float> p(3, 0.1f);
    p[called] = 0.8f;
    three.add(p, truth, "p" + std::to_string(i));
  }
  ModelCard card;
  card.classes = {"NORMAL", "BACTERIAL", "VIRAL"};
  card.trained = true;
  card.validation = ValidationFigures::from(three.evaluate());
  REQUIRE(card.validation->confusion.size() == 9);
  CHECK(card.validation->confusion[2 * 3 + 1] == 4);  // VIRAL called BACTERIAL
  CHECK(card.validation->confusion[2 * 3 + 2] == 6);

  ModelCard back;
  back.parse_provenance(card.provenance_json());
  REQUIRE(back.validation);
  CHECK(back.validation->confusion == card.validation->confusion);
  CHECK(back.validation->classes == card.validation->classes);
  REQUIRE(back.validation->figures.size() == card.validation->figures.size());
  bool found = false;
  for (const auto& [name, e] : back.validation->figures)
    if (name == "recall VIRAL") {
      found = true;
      CHECK(e.value == doctest::Approx(0.6));
    }
  CHECK(found);

  const std::string text = back.to_text(), html = back.to_html();
  CHECK(text.find("confusion (rows true, columns predicted)") != std::string::npos);
  CHECK(text.find("recall BACTERIAL") != std::string::npos);
  CHECK(html.find("<caption>Confusion matrix") != std::string::npos);
  CHECK(html.find("<th>VIRAL</th><td>0</td><td>4</td><td>6</td>") != std::string::npos);


  std::string bad = card.provenance_json();
  const auto at = bad.find("\"confusion\":[");
  REQUIRE(at != std::string::npos);
  bad.insert(at + 13, "1,");
  CHECK_THROWS_WITH_AS(back.parse_provenance(bad), doctest::Contains("10 cells for 3 classes"), InvalidArgument);
}
