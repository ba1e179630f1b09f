// Helpers shared by the binding files.
#include "common.hpp"

#include <cmath>
#include <filesystem>
#include <limits>

namespace xrkpy {

py::object json_loads(const std::string& s) { return py::module_::import("json").attr("loads")(s); }
std::string json_dumps(const py::handle& o) { return py::module_::import("json").attr("dumps")(o).cast<std::string>(); }

[[noreturn]] void raise_file_not_found(const std::string& path) {
  PyErr_SetObject(PyExc_FileNotFoundError, py::make_tuple(2, "No such file or folder", path).ptr());
  throw py::error_already_set();
}

void must_exist(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) raise_file_not_found(path);
}

// The library's JSON form is the one field list; a NaN (null there) comes back as nan.
py::dict epoch_dict(const xraykit::EpochRecord& e) {
  py::dict d = json_loads(xraykit::to_json(e));
  for (auto item : d)
    if (item.second.is_none()) d[item.first] = std::numeric_limits<double>::quiet_NaN();
  return d;
}

}  // namespace xrkpy
