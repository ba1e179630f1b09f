#include "arrays.hpp"

#include <algorithm>
#include <cmath>

namespace xrkpy {

xraykit::Image to_image(const py::array& a, const std::string& what) {
  if (a.ndim() != 2 && a.ndim() != 3)
    throw py::value_error(what + ": expected shape (H, W), (H, W, 1) or (H, W, 3), got " + std::to_string(a.ndim()) +
                          " dimension(s)");
  const py::ssize_t h = a.shape(0), w = a.shape(1), c = a.ndim() == 3 ? a.shape(2) : 1;
  if (c != 1 && c != 3) throw py::value_error(what + ": expected 1 or 3 channels in the last axis, got " + std::to_string(c));
  if (h < 1 || w < 1) throw py::value_error(what + ": empty image");
  xraykit::Image img{static_cast<int>(w), static_cast<int>(h), static_cast<int>(c), {}};
  img.pixels.resize(static_cast<std::size_t>(h) * w * c);
  // By kind and size, not identity: an equal dtype made elsewhere (or of the other byte
  // order) is the same type of pixel.
  const py::dtype dt = a.dtype();
  if (dt.kind() == 'u' && dt.itemsize() == 1) {
    auto u = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(a);
    std::copy(u.data(), u.data() + img.pixels.size(), img.pixels.begin());
  } else if (dt.kind() == 'f' && dt.itemsize() == 4) {
    auto f = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) {
      const float v = f.data()[i];
      if (!(v >= 0.0f && v <= 1.0f)) throw py::value_error(what + ": float32 pixels must lie in [0, 1]");
      img.pixels[i] = static_cast<std::uint8_t>(std::lround(v * 255.0f));
    }
  } else {
    throw py::type_error(what + ": dtype must be uint8 or float32, got " + std::string(py::str(a.dtype())));
  }
  return img;
}

std::vector<xraykit::Image> to_images(const py::handle& obj, const std::string& what) {
  std::vector<xraykit::Image> out;
  if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) {
    std::size_t i = 0;
    for (const auto& item : obj) {
      if (!py::isinstance<py::array>(item))
        throw py::type_error(what + "[" + std::to_string(i) + "]: expected a numpy array");
      out.push_back(to_image(py::reinterpret_borrow<py::array>(item), what + "[" + std::to_string(i) + "]"));
      ++i;
    }
    return out;
  }
  if (!py::isinstance<py::array>(obj)) throw py::type_error(what + ": expected a numpy array or a list of arrays");
  const auto a = py::reinterpret_borrow<py::array>(obj);
  if (a.ndim() != 3 && a.ndim() != 4)
    throw py::value_error(what + ": expected shape (N, H, W) or (N, H, W, C), got " + std::to_string(a.ndim()) + " dimension(s)");
  if (a.ndim() == 3 && a.shape(2) == 3)
    throw py::value_error(what + ": shape (N, H, 3) is ambiguous; pass (N, H, W, 3) for colour or (N, H, W) for grey");
  for (py::ssize_t i = 0; i < a.shape(0); ++i)
    out.push_back(to_image(py::array(a.attr("__getitem__")(i)), what + "[" + std::to_string(i) + "]"));
  return out;
}

py::array_t<std::uint8_t> to_array(const xraykit::Image& img) {
  std::vector<py::ssize_t> shape = {img.height, img.width};
  if (img.channels != 1) shape.push_back(img.channels);
  py::array_t<std::uint8_t> a(shape);
  std::copy(img.pixels.begin(), img.pixels.end(), a.mutable_data());
  return a;
}

}  // namespace xrkpy
