// ModelCard: the provenance's JSON form and the card's text and HTML renderings.
#include "xraykit/model_card.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eval/json_codec.hpp"
#include "util/html.hpp"
#include "xraykit/error.hpp"

namespace xraykit {

using nlohmann::json;

namespace {

json options_json(const TrainOptions& o) {
  return {{"epochs", o.epochs},
          {"batch_size", o.batch_size},
          {"optimizer", to_string(o.optimizer)},
          {"learning_rate", o.learning_rate},
          {"weight_decay", o.weight_decay},
          {"warmup_epochs", o.warmup_epochs},
          {"label_smoothing", o.label_smoothing},
          {"mixup", o.mixup},
          {"cutmix", o.cutmix},
          {"stochastic_depth", o.stochastic_depth},
          {"ema", o.ema},
          {"balance", to_string(o.balance)},
          {"freeze_epochs", o.freeze_epochs},
          {"patience", o.patience},
          {"keep", to_string(o.keep)},
          {"bf16", o.bf16},
          {"seed", o.seed},
          {"threshold_rule", to_string(o.threshold_rule)},
          {"target_sensitivity", o.target_sensitivity}};
}

// Reads what is there: files from earlier versions lack some options.
TrainOptions options_from(const json& j) {
  TrainOptions o;
  auto read = [&](const char* key, auto& field) {
    if (j.contains(key)) field = j.at(key).get<std::decay_t<decltype(field)>>();
  };
  read("epochs", o.epochs);
  read("batch_size", o.batch_size);
  read("learning_rate", o.learning_rate);
  read("weight_decay", o.weight_decay);
  read("warmup_epochs", o.warmup_epochs);
  read("label_smoothing", o.label_smoothing);
  read("mixup", o.mixup);
  read("cutmix", o.cutmix);
  read("stochastic_depth", o.stochastic_depth);
  read("ema", o.ema);
  read("freeze_epochs", o.freeze_epochs);
  read("patience", o.patience);
  read("bf16", o.bf16);
  read("seed", o.seed);
  read("target_sensitivity", o.target_sensitivity);
  if (j.contains("balance")) o.balance = parse_balance(j.at("balance").get<std::string>());
  if (j.contains("keep")) o.keep = parse_keep(j.at("keep").get<std::string>());
  if (j.contains("optimizer")) o.optimizer = parse_optimizer(j.at("optimizer").get<std::string>());
  if (j.contains("threshold_rule")) o.threshold_rule = parse_threshold_rule(j.at("threshold_rule").get<std::string>());
  return o;
}

json validation_json(const ValidationFigures& v) {
  json j = {{"split", v.split}, {"images", v.images}, {"patients", v.patients}, {"threshold", v.threshold}};
  for (const auto& [name, e] : v.figures) j[name] = estimate_to_json(e);
  if (!v.confusion.empty()) {
    j["classes"] = v.classes;
    j["confusion"] = v.confusion;
  }
  return j;
}

// The figure names a validation record may hold, in report order.
std::vector<std::string> figure_names(const std::vector<std::string>& classes) {
  std::vector<std::string> names = {"auc", "accuracy", "balanced_accuracy", "sensitivity", "specificity", "precision"};
  for (const auto& c : classes) names.push_back("recall " + c);
  for (const auto& c : classes) names.push_back("precision " + c);
  return names;
}

ValidationFigures validation_from(const json& j) {
  ValidationFigures v;
  v.split = j.value("split", "");
  v.images = j.value("images", std::int64_t{0});
  v.patients = j.value("patients", std::int64_t{0});
  v.threshold = j.value("threshold", 0.5);
  if (j.contains("confusion")) {
    v.classes = j.at("classes").get<std::vector<std::string>>();
    v.confusion = j.at("confusion").get<std::vector<std::int64_t>>();
    if (v.confusion.size() != v.classes.size() * v.classes.size())
      throw InvalidArgument(fmt::format("validation confusion matrix has {} cells for {} classes", v.confusion.size(),
                                        v.classes.size()));
  }
  for (const auto& name : figure_names(v.classes))
    if (j.contains(name)) v.figures.emplace_back(name, estimate_from_json(j.at(name)));
  return v;
}

json auto_select_json(const AutoChoice& c) {
  json j = {{"arch", c.arch},     {"epochs", c.epochs},
            {"augment", c.augment}, {"reason", c.reason},
            {"budget_seconds", c.budget_seconds}, {"search", c.search},
            {"expected_seconds", c.expected_seconds}};
  for (const auto& m : c.measured) j["measured_images_per_second"][m.arch] = m.images_per_second;
  return j;
}

AutoChoice auto_select_from(const json& j) {
  AutoChoice c;
  c.arch = j.value("arch", "");
  c.epochs = j.value("epochs", 0);
  c.augment = j.value("augment", "");
  c.reason = j.value("reason", "");
  c.budget_seconds = j.value("budget_seconds", 0.0);
  c.search = j.value("search", false);
  c.expected_seconds = j.value("expected_seconds", 0.0);
  if (j.contains("measured_images_per_second"))
    for (const auto& [arch, rate] : j.at("measured_images_per_second").items()) c.measured.push_back({arch, rate.get<double>()});
  return c;
}

// The confusion matrix for people: rows the true class, columns the predicted one.
std::string confusion_text(const ValidationFigures& v) {
  if (v.confusion.empty()) return {};
  const std::size_t n = v.classes.size();
  std::size_t width = 9;
  for (const auto& c : v.classes) width = std::max(width, c.size() + 1);
  std::string out = "  confusion (rows true, columns predicted)\n  " + std::string(width, ' ');
  for (const auto& c : v.classes) out += fmt::format("{:>{}}", c, width);
  for (std::size_t t = 0; t < n; ++t) {
    out += fmt::format("\n  {:<{}}", v.classes[t], width);
    for (std::size_t p = 0; p < n; ++p) out += fmt::format("{:>{}}", v.confusion[t * n + p], width);
  }
  return out + "\n";
}

std::string confusion_html(const ValidationFigures& v) {
  if (v.confusion.empty()) return {};
  const std::size_t n = v.classes.size();
  std::string h = "<table class=confusion><caption>Confusion matrix (rows: true class, columns: predicted)</caption><tr><th></th>";
  for (const auto& c : v.classes) h += "<th>" + escape_html(c) + "</th>";
  h += "</tr>";
  for (std::size_t t = 0; t < n; ++t) {
    h += "<tr><th>" + escape_html(v.classes[t]) + "</th>";
    for (std::size_t p = 0; p < n; ++p) h += fmt::format("<td>{}</td>", v.confusion[t * n + p]);
    h += "</tr>";
  }
  return h + "</table>";
}

std::string estimate_text(const Estimate& e) {
  if (!std::isfinite(e.value)) return "n/a";
  return fmt::format("{:.3f} ({:.3f}-{:.3f})", e.value, e.lo, e.hi);
}

}  // namespace

ValidationFigures ValidationFigures::from(const Evaluation& e) {
  ValidationFigures v;
  v.split = e.split;
  v.images = e.images;
  v.patients = e.patients;
  v.threshold = e.threshold;
  for (const char* name : {"auc", "accuracy", "balanced_accuracy"}) v.figures.emplace_back(name, e.figure(name));
  if (e.classes.size() == 2) {
    for (const char* name : {"sensitivity", "specificity", "precision"}) v.figures.emplace_back(name, e.figure(name));
  } else {
    for (const auto& c : e.per_class) v.figures.emplace_back("recall " + c.name, c.sensitivity);
    for (const auto& c : e.per_class) v.figures.emplace_back("precision " + c.name, c.precision);
  }
  v.classes = e.classes;
  v.confusion = e.confusion;
  return v;
}

std::string ModelCard::provenance_json() const {
  if (!trained) {
    json j = json::object();
    if (auto_select) j["auto_select"] = auto_select_json(*auto_select);
    if (!notes.empty()) j["notes"] = notes;
    return j.dump();
  }
  json history_j = json::array();
  for (const auto& e : history) history_j.push_back(epoch_to_json(e));
  json j = {{"library_version", library_version},
            {"data", {{"train", train_data}, {"validation", validation_data}}},
            {"augmentation", augmentation},
            {"options", options_json(options)},
            {"epochs_run", epochs_run},
            {"best_epoch", best_epoch},
            {"kept_epoch", kept_epoch},
            {"stopped_early", stopped_early},
            {"cancelled", cancelled},
            {"history", history_j}};
  if (validation) j["validation"] = validation_json(*validation);
  if (auto_select) j["auto_select"] = auto_select_json(*auto_select);
  if (!notes.empty()) j["notes"] = notes;
  return j.dump();
}

void ModelCard::parse_provenance(const std::string& text) {
  try {
    const json j = json::parse(text);
    if (!j.is_object()) throw InvalidArgument("provenance must be a JSON object");
    trained = j.contains("options");
    library_version = j.value("library_version", "");
    if (j.contains("data")) {
      train_data = j.at("data").value("train", "");
      validation_data = j.at("data").value("validation", "");
    }
    augmentation = j.value("augmentation", "");
    options = j.contains("options") ? options_from(j.at("options")) : TrainOptions{};
    epochs_run = j.value("epochs_run", 0);
    best_epoch = j.value("best_epoch", 0);
    kept_epoch = j.value("kept_epoch", 0);
    stopped_early = j.value("stopped_early", false);
    cancelled = j.value("cancelled", false);
    history.clear();
    if (j.contains("history"))
      for (const auto& e : j.at("history")) history.push_back(epoch_from_json(e));
    validation.reset();
    if (j.contains("validation")) validation = validation_from(j.at("validation"));
    auto_select.reset();
    if (j.contains("auto_select")) auto_select = auto_select_from(j.at("auto_select"));
    notes = j.value("notes", "");
  } catch (const json::exception& e) {
    throw InvalidArgument(fmt::format("malformed provenance ({})", e.what()));
  }
}

std::string ModelCard::to_text() const {
  std::string out = fmt::format("architecture  {} ({:.1f} M parameters)\n", arch, parameters / 1e6);
  out += fmt::format("classes       {}\n", fmt::join(classes, ", "));
  out += fmt::format("input         {}x{}, {} channel(s), {}\n", image_size, image_size, channels,
                     geometry == Geometry::Squash ? "squashed" : "padded");
  out += fmt::format("normalisation mean {}, std {}\n", fmt::join(normalization.mean, "/"), fmt::join(normalization.stddev, "/"));
  if (classes.size() == 2) out += fmt::format("threshold     {:.4f} on P({})\n", threshold, classes[1]);
  out += fmt::format("calibration   temperature {:.3f}{}\n", temperature,
                     temperature == 1 ? "" : " (fitted on the validation split)");
  if (validation) {
    out += fmt::format("validation    {} split, {} images, {} patients\n", validation->split, validation->images, validation->patients);
    for (const auto& [name, e] : validation->figures) out += fmt::format("  {:<18} {}\n", name, estimate_text(e));
    out += confusion_text(*validation);
  }
  if (trained) {
    out += fmt::format("training      {} epochs run (best {}, kept {}), augmentation '{}', seed {}\n", epochs_run, best_epoch,
                       kept_epoch, augmentation, options.seed);
    out += fmt::format("data          {}\n", train_data);
    out += fmt::format("library       xraykit {}\n", library_version);
  }
  if (auto_select) out += fmt::format("auto-select   {}\n", auto_select->reason);
  out += ood_check ? fmt::format("ood check     images farther from the training X-rays than {:.1f}% of held-out ones are "
                                 "answered UNCERTAIN\n",
                                 100 * ood_quantile)
                   : "ood check     none (this model predates it): photos and other images get a class all the same\n";
  out += "intended use  decision support for trained staff; not a diagnosis\n";
  if (!notes.empty()) out += "\n" + notes + (notes.back() == '\n' ? "" : "\n");
  return out;
}

std::string ModelCard::to_html() const {
  std::string rows;
  auto row = [&](const std::string& k, const std::string& v) { rows += "<tr><th>" + k + "</th><td>" + v + "</td></tr>"; };
  row("Architecture", escape_html(fmt::format("{} ({:.1f} M parameters)", arch, parameters / 1e6)));
  row("Classes", escape_html(fmt::format("{}", fmt::join(classes, ", "))));
  row("Input", fmt::format("{}×{} pixels, {} channel(s)", image_size, image_size, channels));
  if (classes.size() == 2) row("Decision threshold", fmt::format("{:.4f} on P({})", threshold, escape_html(classes[1])));
  if (trained) {
    row("Training data", escape_html(train_data));
    row("Training", escape_html(fmt::format("{} epochs run, augmentation '{}', seed {}, xraykit {}", epochs_run, augmentation,
                                            options.seed, library_version)));
  }
  if (auto_select) row("Auto-select", escape_html(auto_select->reason));
  row("Out-of-distribution check",
      ood_check ? escape_html(fmt::format("images farther from the training X-rays than {:.1f}% of held-out ones are answered "
                                          "\"not a chest X-ray like the model knows\"",
                                          100 * ood_quantile))
                : "none (this model predates it)");
  if (!notes.empty()) {
    std::string html = escape_html(notes);
    for (std::size_t at = html.find('\n'); at != std::string::npos; at = html.find('\n', at + 4)) html.replace(at, 1, "<br>");
    row("About this model", html);
  }
  std::string metrics = "<p>No validation metrics recorded in this model.</p>";
  if (validation) {
    metrics = fmt::format(
        "<p>Measured on the <b>{}</b> split: {} images from {} patients. 95% intervals resample patients.</p><table>",
        escape_html(validation->split), validation->images, validation->patients);
    for (const auto& [name, e] : validation->figures) {
      if (!std::isfinite(e.value)) continue;
      metrics += fmt::format("<tr><th>{}</th><td>{:.3f} ({:.3f} – {:.3f})</td></tr>", escape_html(name), e.value, e.lo, e.hi);
    }
    metrics += "</table>" + confusion_html(*validation);
  }
  return "<table>" + rows + "</table><h2>Validation</h2>" + metrics +
         "<h2>Intended use</h2><p class=notice>Decision support for trained clinical staff reading pediatric chest "
         "radiographs. Not a diagnosis, and not validated for adults, other views or other hospitals' equipment: "
         "figures hold for data like the validation split above.</p>";
}

std::string to_json(const AutoChoice& choice) { return auto_select_json(choice).dump(); }

AutoChoice auto_choice_from_json(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) throw InvalidArgument("an auto-select choice must be a JSON object");
  try {
    return auto_select_from(j);
  } catch (const json::exception& e) {
    throw InvalidArgument(fmt::format("malformed auto-select choice ({})", e.what()));
  }
}

}  // namespace xraykit
