// xraykit.ResNetClassifier: construction, weights, prediction, explanation, training.
#include <optional>

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "common.hpp"
#include "xraykit/xraykit.hpp"

namespace xrkpy {

using namespace xraykit;

namespace {

py::dict prediction_dict(const Prediction& p) {
  py::dict d;
  d["label"] = p.label;
  d["class_name"] = p.class_name;
  d["probabilities"] = p.probabilities;
  d["ood_score"] = p.ood_score;
  d["out_of_distribution"] = p.out_of_distribution();
  return d;
}

// Predicts with the GIL released; a list of dicts.
py::list predictions(const ResNetClassifier& m, const std::vector<Image>& images, bool tta) {
  std::vector<Prediction> ps;
  {
    py::gil_scoped_release release;
    ps = m.predict(images, tta);
  }
  py::list l;
  for (const auto& p : ps) l.append(prediction_dict(p));
  return l;
}

// fit()'s keyword options onto TrainOptions, whose own defaults stand for what is not given.
TrainOptions train_options(const py::kwargs& options) {
  TrainOptions o;
  for (const auto& item : options) {
    const std::string key = py::str(item.first);
    const py::handle v = item.second;
    if (key == "epochs") o.epochs = v.cast<int>();
    else if (key == "batch_size") o.batch_size = v.cast<int>();
    else if (key == "optimizer") o.optimizer = parse_optimizer(v.cast<std::string>());
    else if (key == "learning_rate") o.learning_rate = v.cast<double>();
    else if (key == "weight_decay") o.weight_decay = v.cast<double>();
    else if (key == "momentum") o.momentum = v.cast<double>();
    else if (key == "warmup_epochs") o.warmup_epochs = v.cast<double>();
    else if (key == "label_smoothing") o.label_smoothing = v.cast<double>();
    else if (key == "mixup") o.mixup = v.cast<double>();
    else if (key == "ema") o.ema = v.cast<double>();
    else if (key == "cutmix") o.cutmix = v.cast<double>();
    else if (key == "stochastic_depth") o.stochastic_depth = v.cast<double>();
    else if (key == "balance") o.balance = parse_balance(v.cast<std::string>());
    else if (key == "freeze_epochs") o.freeze_epochs = v.cast<int>();
    else if (key == "patience") o.patience = v.cast<int>();
    else if (key == "keep") o.keep = parse_keep(v.cast<std::string>());
    else if (key == "augment") o.augment = v.cast<std::string>();
    else if (key == "workers") o.workers = v.cast<int>();
    else if (key == "threads") o.threads = v.cast<int>();
    else if (key == "seed") o.seed = v.cast<std::uint64_t>();
    else if (key == "checkpoint") o.checkpoint = v.cast<std::string>();
    else if (key == "resume") o.resume = v.cast<bool>();
    else if (key == "bf16") o.bf16 = v.cast<bool>();
    else if (key == "threshold_rule") o.threshold_rule = parse_threshold_rule(v.cast<std::string>());
    else if (key == "target_sensitivity") o.target_sensitivity = v.cast<double>();
    else if (key == "max_steps_per_epoch") o.max_steps_per_epoch = v.cast<std::int64_t>();
    else if (key == "bootstrap") o.bootstrap = v.cast<int>();
    else throw py::type_error("fit() got an unexpected keyword argument '" + key + "'");
  }
  return o;
}

// Training with the GIL released; the progress callback takes it back, checks for Ctrl-C,
// and calls the user's function. An exception in that function stops training and is
// raised again once fit() has returned.
py::dict fit(ResNetClassifier& model, const Dataset& train, const Dataset& val, const TrainOptions& o,
             const py::object& callback) {
  std::unique_ptr<py::error_already_set> error;
  bool interrupted = false;
  ProgressCallback cb = [&](const Progress& p) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) {
      if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
        PyErr_Clear();
        interrupted = true;
      } else {
        error = std::make_unique<py::error_already_set>();
      }
      return false;
    }
    if (callback.is_none()) return true;
    try {
      py::dict d;
      d["epoch"] = p.epoch;
      d["epochs"] = p.epochs;
      d["step"] = p.step;
      d["steps"] = p.steps;
      d["loss"] = p.loss;
      d["learning_rate"] = p.learning_rate;
      d["images_per_second"] = p.images_per_second;
      d["eta_seconds"] = p.eta_seconds;
      d["epoch_end"] = p.epoch_end;
      if (p.epoch_end) d["record"] = epoch_dict(p.record);
      const py::object r = callback(d);
      return r.is_none() || r.cast<bool>();
    } catch (py::error_already_set& e) {
      if (e.matches(PyExc_KeyboardInterrupt)) {
        interrupted = true;
      } else {
        error = std::make_unique<py::error_already_set>(std::move(e));
      }
      return false;
    }
  };
  FitResult r;
  {
    py::gil_scoped_release release;
    r = model.fit(train, val, o, cb);
  }
  if (error) throw std::move(*error);
  py::dict d;
  py::list history;
  for (const auto& e : r.history) history.append(epoch_dict(e));
  d["history"] = history;
  d["best_epoch"] = r.best_epoch;
  d["best_val_auc"] = r.best_val_auc;
  d["kept_epoch"] = r.kept_epoch;
  d["stopped_early"] = r.stopped_early;
  d["cancelled"] = r.cancelled;
  d["interrupted"] = interrupted;
  d["threshold"] = r.threshold;
  if (!r.history.empty()) d["validation"] = r.validation;
  return d;
}

bool all_paths(const py::object& items) {
  if (py::len(items) == 0) return false;
  for (const auto& item : items)
    if (!py::isinstance<py::str>(item)) return false;
  return true;
}

// A list of paths: decoded in parallel between batches (predict_files), the GIL released;
// the first unreadable file raises its own exception, as loading it alone would.
py::list file_predictions(const ResNetClassifier& m, const py::object& items, bool tta) {
  std::vector<std::string> paths;
  for (const auto& item : items) {
    paths.push_back(item.cast<std::string>());
    must_exist(paths.back());
  }
  std::vector<FilePrediction> results;
  {
    py::gil_scoped_release release;
    results = m.predict_files(paths, tta);
  }
  py::list out;
  for (const auto& r : results) {
    if (!r.ok && r.failure) std::rethrow_exception(r.failure);
    if (!r.ok) throw std::runtime_error(r.error);
    out.append(prediction_dict(r.prediction));
  }
  return out;
}

using Classifier = py::class_<ResNetClassifier>;

// Construction, files and what the model is.
void add_model_methods(Classifier& cls) {
  cls
      .def(py::init([](const std::string& arch, std::vector<std::string> classes, int image_size, int channels,
                       std::uint64_t seed) {
             ClassifierOptions o;
             o.image_size = image_size;
             o.channels = channels;
             o.seed = seed;
             return ResNetClassifier(arch, std::move(classes), o);
           }),
           py::arg("arch") = "resnet18", py::arg("classes") = std::vector<std::string>{"NORMAL", "PNEUMONIA"},
           py::arg("image_size") = 224, py::arg("channels") = 1, py::arg("seed") = 42)
      .def_static(
          "load",
          [](const std::optional<std::string>& path) {
            if (!path) return ResNetClassifier::load(shipped_model_path());
            must_exist(*path);
            return ResNetClassifier::load(*path);
          },
          py::arg("path") = py::none(),
          "Loads a model file written by save(); without a path, the pneumonia model shipped with xraykit.")
      .def(
          "save",
          [](const ResNetClassifier& m, const std::string& path, bool half) {
            m.save(path, half ? ResNetClassifier::Precision::Float16 : ResNetClassifier::Precision::Float32);
          },
          py::arg("path"), py::arg("half") = false,
          "Writes the model atomically; half=True stores convolution and linear weights as float16 (half the file).")
      .def_property(
          "notes", [](const ResNetClassifier& m) { return m.card().notes; },
          [](ResNetClassifier& m, const std::string& notes) {
            ModelCard card = m.card();
            card.notes = notes;
            m.set_provenance(card.provenance_json());
          },
          "The publisher's notes in the model card: data source and licence, intended use, known limits.")
      .def(
          "load_torchvision",
          [](ResNetClassifier& m, const std::string& path) {
            must_exist(path);
            return m.load_torchvision(path);
          },
          py::arg("path"), "Loads torch.save(model.state_dict()) weights; returns what was adapted.")
      .def_property_readonly("arch", &ResNetClassifier::arch)
      .def_property_readonly("classes", &ResNetClassifier::classes)
      .def_property_readonly("image_size", &ResNetClassifier::image_size)
      .def_property_readonly("channels", &ResNetClassifier::channels)
      .def_property_readonly("provenance", [](const ResNetClassifier& m) { return json_loads(m.provenance()); })
      .def("describe", &ResNetClassifier::describe);
}

// How predictions are turned into answers: threshold, calibration, inference path, the
// out-of-distribution check.
void add_decision_methods(Classifier& cls) {
  cls.def_property("threshold", &ResNetClassifier::threshold, &ResNetClassifier::set_threshold)
      .def_property("temperature", &ResNetClassifier::temperature, &ResNetClassifier::set_temperature,
                    "Temperature scaling of the logits, fitted on the validation split by fit().")
      .def(
          "calibrate",
          [](ResNetClassifier& m, const Dataset& held_out) {
            py::gil_scoped_release release;
            return m.calibrate(held_out);
          },
          py::arg("held_out"), "Sets the temperature from labelled images the model did not learn from; returns it.")
      .def_property(
          "exact_inference", [](const ResNetClassifier& m) { return m.inference() == Inference::Exact; },
          [](ResNetClassifier& m, bool exact) { m.set_inference(exact ? Inference::Exact : Inference::Fast); },
          "False (default): fast inference (folded batch-norm, oneDNN layouts, bf16 where the CPU has it). "
          "True: the exact fp32 network.")
      .def_property_readonly("has_ood_check", &ResNetClassifier::has_ood_check,
                             "True when predictions carry an out-of-distribution score (models trained since the check).")
      .def(
          "fit_ood",
          [](ResNetClassifier& m, const Dataset& known, const Dataset& held_out, double quantile) {
            py::gil_scoped_release release;
            m.fit_ood(known, held_out, quantile);
          },
          py::arg("known"), py::arg("held_out"), py::arg("quantile") = ResNetClassifier::kOodQuantile,
          "Fits the out-of-distribution check: feature statistics of `known` (images the model learnt from), the "
          "limit at `quantile` of the distances of `held_out` (other patients' images). fit() does this itself.")
      .def(
          "ood_scores",
          [](const ResNetClassifier& m, const Dataset& d) {
            std::vector<float> s;
            {
              py::gil_scoped_release release;
              s = m.ood_scores(d);
            }
            py::array_t<float> a(static_cast<py::ssize_t>(s.size()));
            std::copy(s.begin(), s.end(), a.mutable_data());
            return a;
          },
          py::arg("data"), "Each sample's out-of-distribution score (> 1: unlike the training X-rays; NaN: no check).");
}

// Weights in and out as numpy arrays, and raw outputs.
void add_weight_methods(Classifier& cls) {
  cls
      .def(
          "state_dict",
          [](const ResNetClassifier& m) {
            py::dict d = py::module_::import("collections").attr("OrderedDict")();
            for (const auto& t : m.state_dict()) {
              py::array a(py::dtype(t.dtype == "int64" ? "int64" : "float32"), t.shape);
              std::memcpy(a.mutable_data(), t.bytes.data(), t.bytes.size());
              d[py::str(t.name)] = a;
            }
            return d;
          },
          "OrderedDict of numpy arrays with torchvision's names.")
      .def(
          "load_state_dict",
          [](ResNetClassifier& m, const py::dict& state) {
            std::vector<TensorData> ts;
            for (const auto& [k, v] : state) {
              py::array a = py::array::ensure(py::module_::import("numpy").attr("asarray")(v));
              TensorData t;
              t.name = k.cast<std::string>();
              const bool is_int = a.dtype().kind() == 'i' || a.dtype().kind() == 'u';
              t.dtype = is_int ? "int64" : "float32";
              a = is_int ? py::array(py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a))
                         : py::array(py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a));
              t.shape.assign(a.shape(), a.shape() + a.ndim());
              const auto* p = static_cast<const std::uint8_t*>(a.data());
              t.bytes.assign(p, p + a.nbytes());
              ts.push_back(std::move(t));
            }
            m.load_state_dict(ts);
          },
          py::arg("state"), "Replaces the weights from a dict of arrays (numpy or torch) with torchvision's names.")
      .def(
          "logits",
          [](const ResNetClassifier& m, const py::array_t<float, py::array::c_style | py::array::forcecast>& x) {
            if (x.ndim() != 4 || x.shape(1) != m.channels() || x.shape(2) != m.image_size() || x.shape(3) != m.image_size())
              throw py::value_error("logits: expected float32 of shape (N, " + std::to_string(m.channels()) + ", " +
                                    std::to_string(m.image_size()) + ", " + std::to_string(m.image_size()) + ")");
            std::vector<float> v(x.data(), x.data() + x.size());
            std::vector<float> out;
            {
              py::gil_scoped_release release;
              out = m.logits(v, static_cast<int>(x.shape(0)));
            }
            py::array_t<float> r({x.shape(0), static_cast<py::ssize_t>(m.classes().size())});
            std::copy(out.begin(), out.end(), r.mutable_data());
            return r;
          },
          py::arg("x"), "Raw outputs for normalised NCHW float32 input.");
}

// Prediction, explanation and evaluation.
void add_inference_methods(Classifier& cls) {
  cls
      .def(
          "predict",
          [](const ResNetClassifier& m, const py::object& what, bool tta) -> py::object {
            if (py::isinstance<py::str>(what) || py::isinstance(what, py::module_::import("pathlib").attr("PurePath"))) {
              const std::string path = py::str(what);
              must_exist(path);
              return predictions(m, {load_image(path, m.decode_options())}, tta)[0];
            }
            if (py::isinstance<py::list>(what) || py::isinstance<py::tuple>(what)) {
              if (all_paths(what)) return file_predictions(m, what, tta);
              std::vector<Image> imgs;
              std::size_t i = 0;
              for (const auto& item : what) {
                if (py::isinstance<py::str>(item)) {
                  const std::string path = item.cast<std::string>();
                  must_exist(path);
                  imgs.push_back(load_image(path, m.decode_options()));
                } else if (py::isinstance<py::array>(item)) {
                  imgs.push_back(to_image(py::reinterpret_borrow<py::array>(item), "images[" + std::to_string(i) + "]"));
                } else {
                  throw py::type_error("images[" + std::to_string(i) + "]: expected a path or a numpy array");
                }
                ++i;
              }
              return predictions(m, imgs, tta);
            }
            if (!py::isinstance<py::array>(what)) throw py::type_error("predict: expected a path, a numpy array or a list");
            const auto a = py::reinterpret_borrow<py::array>(what);
            // (H, W) or (H, W, C) with a small last axis is one image; (N, H, W[, C]) a stack.
            if (a.ndim() == 2 || (a.ndim() == 3 && a.shape(2) <= 4)) return predictions(m, {to_image(a)}, tta)[0];
            return predictions(m, to_images(a), tta);
          },
          py::arg("images"), py::arg("tta") = false,
          "A path or an (H,W[,C]) array -> dict(label, class_name, probabilities, ood_score, out_of_distribution); a list or an (N,H,W[,C]) "
          "array -> list of dicts.")
      .def(
          "explain",
          [](const ResNetClassifier& m, const py::object& what, int class_index, const std::string& layer) {
            Image img;
            if (py::isinstance<py::str>(what)) {
              const std::string path = what.cast<std::string>();
              must_exist(path);
              img = load_image(path, m.decode_options());
            } else if (py::isinstance<py::array>(what)) {
              img = to_image(py::reinterpret_borrow<py::array>(what));
            } else {
              throw py::type_error("explain: expected a path or a numpy array");
            }
            Explanation ex;
            {
              py::gil_scoped_release release;
              ex = m.explain(img, class_index, layer);
            }
            py::array_t<float> heat({ex.size, ex.size});
            std::copy(ex.heatmap.begin(), ex.heatmap.end(), heat.mutable_data());
            py::dict d;
            d["class_index"] = ex.class_index;
            d["prediction"] = prediction_dict(ex.prediction);
            d["heatmap"] = heat;
            d["overlay"] = to_array(ex.overlay);
            d["overlay_png"] = py::bytes(reinterpret_cast<const char*>(ex.overlay_png.data()), ex.overlay_png.size());
            return d;
          },
          py::arg("image"), py::arg("class_index") = -1, py::arg("layer") = "layer4",
          "Grad-CAM: dict(class_index, prediction, heatmap (S,S) float32 in [0,1], overlay (S,S,3) uint8, overlay_png bytes).")
      .def(
          "evaluate",
          [](const ResNetClassifier& m, const Dataset& d, int bootstrap, const std::string& split, bool tta) {
            EvalOptions o;
            o.bootstrap = bootstrap;
            o.split = split;
            py::gil_scoped_release release;
            return m.evaluate(d, o, tta);
          },
          py::arg("data"), py::arg("bootstrap") = 1000, py::arg("split") = "evaluation data", py::arg("tta") = false,
          "Metrics at the model's threshold; tta: test-time augmentation, as predict's.");
}

void add_training_methods(Classifier& cls) {
  cls
      .def(
          "fit",
          [](ResNetClassifier& m, const Dataset& train, const Dataset& val, const py::object& callback,
             const py::kwargs& options) { return fit(m, train, val, train_options(options), callback); },
          py::arg("train"), py::arg("val"), py::arg("callback") = py::none(),
          "Trains with validation every epoch on `val` (patient-disjoint). Keyword options are TrainOptions' "
          "fields with its defaults (epochs, batch_size, optimizer, learning_rate, weight_decay, momentum, "
          "warmup_epochs, label_smoothing, mixup, cutmix, stochastic_depth, ema, balance, freeze_epochs, patience, keep, augment, workers, threads, seed, "
          "checkpoint, resume, bf16, threshold_rule, target_sensitivity, max_steps_per_epoch, bootstrap). "
          "callback(progress: dict) may return False to stop. Ctrl-C stops cleanly (result['interrupted']). "
          "Returns dict(history, best_epoch, best_val_auc, kept_epoch, stopped_early, cancelled, interrupted, "
          "threshold, validation).")
      .def("__repr__", [](const ResNetClassifier& m) { return "<xraykit.ResNetClassifier " + m.arch() + ">"; });
}

}  // namespace

void bind_classifier(py::module_& m) {
  Classifier cls(m, "ResNetClassifier", "A torchvision-compatible ResNet that trains, predicts and saves.");
  add_model_methods(cls);
  add_decision_methods(cls);
  add_weight_methods(cls);
  add_inference_methods(cls);
  add_training_methods(cls);
}

}  // namespace xrkpy
