// Library errors become Python exceptions: all derive from xraykit.Error, and each also
// from the built-in that a Python user would catch (ValueError, OSError, ...).
#include <pybind11/pybind11.h>

#include "xraykit/error.hpp"

namespace py = pybind11;

namespace {

// Exception classes live as long as the interpreter; plain pointers avoid destructors that
// would run after it has gone.
PyObject* error_base = nullptr;
PyObject* invalid_argument = nullptr;
PyObject* io_error = nullptr;
PyObject* image_error = nullptr;
PyObject* dataset_error = nullptr;
PyObject* model_error = nullptr;

PyObject* make(py::module_& m, const char* name, PyObject* builtin, const char* doc) {
  py::dict ns;
  ns["__module__"] = "xraykit";
  ns["__doc__"] = doc;
  py::tuple bases = builtin ? py::make_tuple(py::handle(error_base), py::handle(builtin)) : py::make_tuple(py::handle(error_base));
  py::object cls = py::module_::import("builtins").attr("type")(name, bases, ns);
  m.attr(name) = cls;
  return cls.release().ptr();
}

PyObject* class_of(xraykit::ErrorKind kind) {
  switch (kind) {
    case xraykit::ErrorKind::InvalidArgument: return invalid_argument;
    case xraykit::ErrorKind::Io: return io_error;
    case xraykit::ErrorKind::Image: return image_error;
    case xraykit::ErrorKind::Dataset: return dataset_error;
    case xraykit::ErrorKind::Model: return model_error;
    case xraykit::ErrorKind::Other: break;
  }
  return error_base;
}

}  // namespace

void register_exceptions(py::module_& m) {
  error_base = PyErr_NewExceptionWithDoc("xraykit.Error", "Base of every xraykit error.", PyExc_Exception, nullptr);
  m.attr("Error") = py::handle(error_base);
  invalid_argument = make(m, "InvalidArgument", PyExc_ValueError, "A bad argument, option or spec.");
  io_error = make(m, "IoError", PyExc_OSError, "A file or folder could not be read or written.");
  image_error = make(m, "ImageError", PyExc_ValueError, "Bytes that are not an accepted image.");
  dataset_error = make(m, "DatasetError", nullptr, "A dataset cannot be built or used as asked.");
  model_error = make(m, "ModelError", nullptr, "Not an xraykit model, truncated, or weights that do not fit.");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const xraykit::Error& e) {
      PyErr_SetString(class_of(e.kind()), e.what());
    }
  });
}
