// xraykit.Augmenter.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "common.hpp"
#include "xraykit/xraykit.hpp"

namespace xrkpy {

using namespace xraykit;

void bind_augmenter(py::module_& m) {
  py::class_<Augmenter>(m, "Augmenter", "Seeded, composable augmentations (preset name or spec text).")
      .def(py::init<const std::string&>(), py::arg("spec") = "none")
      .def_property_readonly("spec", &Augmenter::to_string)
      .def(
          "__call__",
          [](const Augmenter& a, const py::array& image, std::uint64_t seed) {
            const Image img = to_image(image);
            if (img.width != img.height) throw py::value_error("image: must be square (resize it first)");
            return to_array(a.apply(img, seed));
          },
          py::arg("image"), py::arg("seed"), "Augments a square image; the same seed gives the same result.")
      .def(
          "contact_sheet",
          [](const Augmenter& a, const Dataset& d, int rows, int cols, std::uint64_t seed) {
            return to_array(a.contact_sheet(d, rows, cols, seed));
          },
          py::arg("data"), py::arg("rows") = 4, py::arg("cols") = 6, py::arg("seed") = 1)
      .def("__repr__", [](const Augmenter& a) { return "<xraykit.Augmenter '" + a.to_string() + "'>"; });
}

}  // namespace xrkpy
