// xraykit.Evaluation and xraykit.Evaluator.
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

py::array_t<std::int64_t> confusion_array(const Evaluation& e) {
  const auto k = static_cast<py::ssize_t>(e.classes.size());
  py::array_t<std::int64_t> a({k, k});
  std::copy(e.confusion.begin(), e.confusion.end(), a.mutable_data());
  return a;
}

}  // namespace

void bind_evaluation(py::module_& m) {
  py::class_<Evaluation>(m, "Evaluation", "Metrics of one split, with patient-level bootstrap intervals.")
      .def_readonly("split", &Evaluation::split)
      .def_readonly("classes", &Evaluation::classes)
      .def_readonly("threshold", &Evaluation::threshold)
      .def_property_readonly("confusion_matrix", &confusion_array, "int64 [true, predicted]")
      .def("to_dict", [](const Evaluation& e) { return json_loads(e.to_json()); })
      .def("to_json", &Evaluation::to_json)
      .def("to_text", &Evaluation::to_text)
      .def(
          "save_html",
          [](const Evaluation& e, const std::string& path, const py::object& history, const std::string& title) {
            std::vector<EpochRecord> h;
            if (!history.is_none())
              for (const auto& item : history) {
                py::dict d;  // NaN (an epoch without AUC) goes over as JSON null
                for (auto kv : item.cast<py::dict>()) {
                  const bool nan = py::isinstance<py::float_>(kv.second) && std::isnan(kv.second.cast<double>());
                  d[kv.first] = nan ? py::none() : py::reinterpret_borrow<py::object>(kv.second);
                }
                h.push_back(epoch_record_from_json(json_dumps(d)));
              }
            save_html_report(path, e, h, title);
          },
          py::arg("path"), py::arg("history") = py::none(), py::arg("title") = "xraykit evaluation")
      .def("__repr__", [](const Evaluation& e) { return "<xraykit.Evaluation on " + e.split + ">"; });

  py::class_<Evaluator>(m, "Evaluator", "Collects (probabilities, label, patient) and computes an Evaluation.")
      .def(py::init([](std::vector<std::string> classes, double threshold, int bootstrap, std::uint64_t seed,
                       const std::string& split) {
             EvalOptions o;
             o.threshold = threshold;
             o.bootstrap = bootstrap;
             o.seed = seed;
             o.split = split;
             return Evaluator(std::move(classes), o);
           }),
           py::arg("classes"), py::arg("threshold") = 0.5, py::arg("bootstrap") = 1000, py::arg("seed") = 0,
           py::arg("split") = "validation")
      .def("add", &Evaluator::add, py::arg("probabilities"), py::arg("label"), py::arg("patient"))
      .def("__len__", &Evaluator::size)
      .def("evaluate",
           [](const Evaluator& e) {
             // A copy taken under the GIL: another thread's add() may grow the original
             // while the bootstrap runs without the GIL.
             const Evaluator snapshot = e;
             py::gil_scoped_release release;
             return snapshot.evaluate();
           });
}

}  // namespace xrkpy
