// C ABI: classifiers (create, load, save, fit, predict, evaluate).
#include <cmath>

#include "handles.hpp"

using xrk::check;
using xrk::guard;
using xrk::need;

namespace {

xrk_evaluation* new_evaluation(xraykit::Evaluation e, std::vector<xraykit::EpochRecord> history = {}) {
  return xrk::make(new xrk_evaluation{std::move(e), std::move(history)});
}

void copy_probs(const xraykit::Prediction& p, float* probs, size_t probs_len, int32_t* label) {
  if (probs_len < p.probabilities.size())
    throw xrk::Failure{XRK_ERR_BUFFER_TOO_SMALL, "probs has room for " + std::to_string(probs_len) + " values; " +
                                                     std::to_string(p.probabilities.size()) + " needed"};
  std::copy(p.probabilities.begin(), p.probabilities.end(), probs);
  if (label) *label = p.label;
}

}  // namespace

extern "C" {

xrk_classifier_params xrk_classifier_default_params(void) {
  const xraykit::ClassifierOptions d;
  xrk_classifier_params p{};
  p.struct_size = sizeof p;
  p.image_size = d.image_size;
  p.channels = d.channels;
  p.seed = d.seed;
  return p;
}

xrk_status xrk_classifier_create(const char* arch, const char* const* class_names, size_t num_classes,
                                 const xrk_classifier_params* params, xrk_classifier** out) {
  return guard([&] {
    need(arch, "arch");
    need(class_names, "class_names");
    need(out, "out");
    *out = nullptr;
    std::vector<std::string> classes;
    for (size_t i = 0; i < num_classes; ++i) {
      if (class_names[i] == nullptr) throw xrk::Failure{XRK_ERR_INVALID_ARGUMENT, "class_names[" + std::to_string(i) + "] is NULL"};
      classes.emplace_back(class_names[i]);
    }
    const xrk_classifier_params p = xrk::params_or_default(params, xrk_classifier_default_params());
    xraykit::ClassifierOptions o;
    o.image_size = p.image_size;
    o.channels = p.channels;
    o.seed = p.seed;
    *out = xrk::make(new xrk_classifier{xraykit::ResNetClassifier(arch, classes, o)});
  });
}

xrk_status xrk_classifier_load(const char* path, xrk_classifier** out) {
  return guard([&] {
    need(path, "path");
    need(out, "out");
    *out = nullptr;
    *out = xrk::make(new xrk_classifier{xraykit::ResNetClassifier::load(path)});
  });
}

xrk_status xrk_classifier_load_shipped(const char* name, xrk_classifier** out) {
  return guard([&] {
    need(out, "out");
    *out = nullptr;
    const std::string path = xraykit::shipped_model_path(name ? name : "pneumonia");
    *out = xrk::make(new xrk_classifier{xraykit::ResNetClassifier::load(path)});
  });
}

xrk_status xrk_classifier_save(const xrk_classifier* model, const char* path) {
  return guard([&] {
    need(path, "path");
    check(model, "classifier")->model.save(path);
    xrk::log(1, std::string("saved model to ") + path);
  });
}

xrk_status xrk_classifier_load_torchvision(xrk_classifier* model, const char* pth_path) {
  return guard([&] {
    need(pth_path, "pth_path");
    xrk::log(1, check(model, "classifier")->model.load_torchvision(pth_path));
  });
}

xrk_status xrk_classifier_describe(const xrk_classifier* model, char* buf, size_t buf_size, size_t* needed) {
  return guard([&] { xrk::string_out(check(model, "classifier")->model.describe(), buf, buf_size, needed); });
}

xrk_status xrk_classifier_num_classes(const xrk_classifier* model, size_t* classes) {
  return guard([&] {
    need(classes, "classes");
    *classes = check(model, "classifier")->model.classes().size();
  });
}

xrk_status xrk_classifier_threshold(const xrk_classifier* model, double* threshold) {
  return guard([&] {
    need(threshold, "threshold");
    *threshold = check(model, "classifier")->model.threshold();
  });
}

xrk_status xrk_classifier_set_threshold(xrk_classifier* model, double threshold) {
  return guard([&] { check(model, "classifier")->model.set_threshold(threshold); });
}

xrk_train_params xrk_train_default_params(void) {
  static const xraykit::TrainOptions d;  // static: the strings below point into it
  static const std::string threshold_rule = xraykit::to_string(d.threshold_rule);
  static const std::string optimizer = xraykit::to_string(d.optimizer);
  xrk_train_params p{};
  p.struct_size = sizeof p;
  p.epochs = d.epochs;
  p.batch_size = d.batch_size;
  p.optimizer = optimizer.c_str();
  p.learning_rate = d.learning_rate;
  p.weight_decay = d.weight_decay;
  p.warmup_epochs = d.warmup_epochs;
  p.label_smoothing = d.label_smoothing;
  p.balance = static_cast<int32_t>(d.balance);
  p.freeze_epochs = d.freeze_epochs;
  p.patience = d.patience;
  p.augment = d.augment.c_str();
  p.workers = d.workers;
  p.threads = d.threads;
  p.seed = d.seed;
  p.checkpoint = nullptr;
  p.resume = d.resume;
  p.bf16 = d.bf16;
  p.bootstrap = d.bootstrap;
  p.max_steps_per_epoch = d.max_steps_per_epoch;
  p.progress = nullptr;
  p.user_data = nullptr;
  p.keep = static_cast<int32_t>(d.keep);
  p.threshold_rule = threshold_rule.c_str();
  p.mixup = d.mixup;
  p.ema = d.ema;
  p.cutmix = d.cutmix;
  p.stochastic_depth = d.stochastic_depth;
  return p;
}

xrk_status xrk_classifier_fit(xrk_classifier* model, const xrk_dataset* train, const xrk_dataset* val,
                              const xrk_train_params* params, xrk_evaluation** validation) {
  bool cancelled = false;
  const xrk_status st = guard([&] {
    check(model, "classifier");
    check(train, "train dataset");
    check(val, "validation dataset");
    if (validation) *validation = nullptr;
    const xrk_train_params p = xrk::params_or_default(params, xrk_train_default_params());
    if (p.balance < 0 || p.balance > 2) throw xrk::Failure{XRK_ERR_INVALID_ARGUMENT, "balance must be 0, 1 or 2"};
    if (p.keep < 0 || p.keep > 1) throw xrk::Failure{XRK_ERR_INVALID_ARGUMENT, "keep must be XRK_KEEP_BEST or XRK_KEEP_LAST"};
    xraykit::TrainOptions o;
    o.epochs = p.epochs;
    o.batch_size = p.batch_size;
    if (p.optimizer) o.optimizer = xraykit::parse_optimizer(p.optimizer);
    o.learning_rate = p.learning_rate;
    o.weight_decay = p.weight_decay;
    o.warmup_epochs = p.warmup_epochs;
    o.label_smoothing = p.label_smoothing;
    o.mixup = p.mixup;
    o.ema = p.ema;
    o.cutmix = p.cutmix;
    o.stochastic_depth = p.stochastic_depth;
    o.balance = static_cast<xraykit::Balance>(p.balance);
    o.keep = static_cast<xraykit::Keep>(p.keep);
    if (p.threshold_rule) o.threshold_rule = xraykit::parse_threshold_rule(p.threshold_rule);
    o.freeze_epochs = p.freeze_epochs;
    o.patience = p.patience;
    if (p.augment) o.augment = p.augment;
    o.workers = p.workers;
    o.threads = p.threads;
    o.seed = p.seed;
    if (p.checkpoint) o.checkpoint = p.checkpoint;
    o.resume = p.resume != 0;
    o.bf16 = p.bf16 != 0;
    o.bootstrap = p.bootstrap;
    o.max_steps_per_epoch = p.max_steps_per_epoch;
    xraykit::ProgressCallback cb = [&](const xraykit::Progress& g) {
      if (g.epoch_end)
        xrk::log(1, "epoch " + std::to_string(g.epoch) + "/" + std::to_string(g.epochs) + ": validation AUC " +
                        std::to_string(g.record.val_auc));
      if (!p.progress) return true;
      xrk_progress c{};
      c.epoch = g.epoch;
      c.epochs = g.epochs;
      c.step = g.step;
      c.steps = g.steps;
      c.loss = g.loss;
      c.learning_rate = g.learning_rate;
      c.images_per_second = g.images_per_second;
      c.eta_seconds = g.eta_seconds;
      c.epoch_end = g.epoch_end;
      c.val_loss = g.record.val_loss;
      c.val_auc = g.record.val_auc;
      c.val_accuracy = g.record.val_accuracy;
      return p.progress(&c, p.user_data) != 0;
    };
    const xraykit::FitResult r = model->model.fit(train->data, val->data, o, cb);
    cancelled = r.cancelled;
    if (validation && !r.history.empty()) *validation = new_evaluation(r.validation, r.history);
  });
  if (st == XRK_OK && cancelled) {
    xrk::set_error("training was stopped by the progress callback");
    return XRK_ERR_CANCELLED;
  }
  return st;
}

xrk_status xrk_classifier_predict_file(const xrk_classifier* model, const char* path, float* probs, size_t probs_len,
                                       int32_t* label) {
  return guard([&] {
    need(path, "path");
    need(probs, "probs");
    copy_probs(check(model, "classifier")->model.predict_file(path), probs, probs_len, label);
  });
}

xrk_status xrk_classifier_predict_file_ood(const xrk_classifier* model, const char* path, float* probs,
                                           size_t probs_len, int32_t* label, float* ood_score) {
  return guard([&] {
    need(path, "path");
    need(probs, "probs");
    const xraykit::Prediction p = check(model, "classifier")->model.predict_file(path);
    copy_probs(p, probs, probs_len, label);
    if (ood_score) *ood_score = p.ood_score;
  });
}

xrk_status xrk_classifier_predict_pixels(const xrk_classifier* model, const uint8_t* pixels, int32_t width,
                                         int32_t height, int32_t channels, float* probs, size_t probs_len,
                                         int32_t* label) {
  return guard([&] {
    check(model, "classifier");
    need(pixels, "pixels");
    need(probs, "probs");
    if (width < 1 || height < 1 || (channels != 1 && channels != 3))
      throw xrk::Failure{XRK_ERR_INVALID_ARGUMENT, "width and height must be positive and channels 1 or 3"};
    xraykit::Image img{width, height, channels, {}};
    img.pixels.assign(pixels, pixels + static_cast<size_t>(width) * height * channels);
    copy_probs(model->model.predict(img), probs, probs_len, label);
  });
}

xrk_status xrk_classifier_input_size(const xrk_classifier* model, int32_t* size) {
  return guard([&] {
    need(size, "size");
    *size = check(model, "classifier")->model.image_size();
  });
}

xrk_status xrk_classifier_explain_file(const xrk_classifier* model, const char* path, int32_t class_index,
                                       const char* layer, float* heatmap, size_t heatmap_len, uint8_t* png,
                                       size_t png_size, size_t* png_needed) {
  return guard([&] {
    check(model, "classifier");
    need(path, "path");
    const xraykit::Explanation ex = model->model.explain(xraykit::load_image(path, model->model.decode_options()), class_index,
                                                         layer ? layer : "layer4");
    if (png_needed) *png_needed = ex.overlay_png.size();
    if (heatmap) {
      if (heatmap_len < ex.heatmap.size())
        throw xrk::Failure{XRK_ERR_BUFFER_TOO_SMALL, "heatmap needs " + std::to_string(ex.heatmap.size()) + " floats"};
      std::copy(ex.heatmap.begin(), ex.heatmap.end(), heatmap);
    }
    if (png == nullptr && png_size == 0) return;
    need(png, "png");
    if (png_size < ex.overlay_png.size())
      throw xrk::Failure{XRK_ERR_BUFFER_TOO_SMALL, "png needs " + std::to_string(ex.overlay_png.size()) + " bytes"};
    std::copy(ex.overlay_png.begin(), ex.overlay_png.end(), png);
  });
}

xrk_status xrk_classifier_evaluate(const xrk_classifier* model, const xrk_dataset* data, int32_t bootstrap,
                                   xrk_evaluation** out) {
  return guard([&] {
    check(model, "classifier");
    check(data, "dataset");
    need(out, "out");
    *out = nullptr;
    xraykit::EvalOptions o;
    o.bootstrap = bootstrap;
    o.split = "evaluation data";
    *out = new_evaluation(model->model.evaluate(data->data, o));
  });
}

void xrk_classifier_free(xrk_classifier* model) { xrk::release(model); }

xrk_status xrk_evaluation_metric(const xrk_evaluation* eval, const char* name, double* value, double* lo, double* hi) {
  return guard([&] {
    check(eval, "evaluation");
    need(name, "name");
    need(value, "value");
    const xraykit::Estimate& est = eval->eval.figure(name);
    *value = est.value;
    if (lo) *lo = est.lo;
    if (hi) *hi = est.hi;
  });
}

xrk_status xrk_evaluation_confusion(const xrk_evaluation* eval, int64_t* counts, size_t counts_len, size_t* needed) {
  return guard([&] {
    const auto& c = check(eval, "evaluation")->eval.confusion;
    if (needed) *needed = c.size();
    if (counts == nullptr && counts_len == 0 && needed) return;
    need(counts, "counts");
    if (counts_len < c.size())
      throw xrk::Failure{XRK_ERR_BUFFER_TOO_SMALL, std::to_string(c.size()) + " counts needed"};
    std::copy(c.begin(), c.end(), counts);
  });
}

xrk_status xrk_evaluation_json(const xrk_evaluation* eval, char* buf, size_t buf_size, size_t* needed) {
  return guard([&] { xrk::string_out(check(eval, "evaluation")->eval.to_json(), buf, buf_size, needed); });
}

xrk_status xrk_evaluation_save_html(const xrk_evaluation* eval, const char* path) {
  return guard([&] {
    check(eval, "evaluation");
    need(path, "path");
    xraykit::save_html_report(path, eval->eval, eval->history);
  });
}

void xrk_evaluation_free(xrk_evaluation* eval) { xrk::release(eval); }

}  // extern "C"
