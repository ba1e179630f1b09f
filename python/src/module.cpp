// The `xraykit` Python module: a thin pybind11 layer over the C++ API, one file per class
// (bind_*.cpp). The GIL is released while the library works (loading, training,
// predicting); Ctrl-C stops training cleanly.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "common.hpp"
#include "xraykit/xraykit.hpp"

namespace py = pybind11;

void register_exceptions(py::module_& m);

PYBIND11_MODULE(_xraykit, m) {
  using namespace xraykit;
  m.doc() = "xraykit: train, evaluate and deploy chest X-ray classifiers on the CPU";
  m.attr("__version__") = XRAYKIT_VERSION_STRING;
  register_exceptions(m);
  xrkpy::bind_dataset(m);
  xrkpy::bind_augmenter(m);
  xrkpy::bind_evaluation(m);
  xrkpy::bind_classifier(m);
  m.def("patient_from_filename", &patient_from_filename, py::arg("filename"));
  m.def("shipped_model_path", &shipped_model_path, py::arg("name") = "pneumonia",
        "The file of a model shipped with xraykit ($XRAYKIT_MODELS, beside the library, or the install prefix).");
  m.def("set_num_threads", &set_num_threads, py::arg("n"), "Torch threads for the process (0 = one per core).");
}
