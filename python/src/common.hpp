#pragma once
// What the binding files share: JSON through Python's json module, file checks that raise
// FileNotFoundError, the EpochRecord dict, and one bind_* function per class.
#include <pybind11/pybind11.h>

#include <string>

#include "xraykit/evaluator.hpp"

namespace xrkpy {

namespace py = pybind11;

py::object json_loads(const std::string& text);
std::string json_dumps(const py::handle& object);
[[noreturn]] void raise_file_not_found(const std::string& path);
void must_exist(const std::string& path);
/// An EpochRecord as a dict (the library's JSON form; NaN where the JSON has null).
py::dict epoch_dict(const xraykit::EpochRecord& record);

void bind_dataset(py::module_& m);
void bind_augmenter(py::module_& m);
void bind_evaluation(py::module_& m);
void bind_classifier(py::module_& m);

}  // namespace xrkpy
