#pragma once
// NumPy <-> xraykit conversions with checks that name what is wrong (ValueError for shapes,
// TypeError for dtypes), so that a wrong array never reaches the library.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "xraykit/image.hpp"

namespace xrkpy {

namespace py = pybind11;

/// One image: uint8 or float32 (values in [0, 1]) of shape (H, W), (H, W, 1) or (H, W, 3).
xraykit::Image to_image(const py::array& a, const std::string& what = "image");

/// A stack: (N, H, W), (N, H, W, 1), (N, H, W, 3), or a list of single images.
std::vector<xraykit::Image> to_images(const py::handle& obj, const std::string& what = "images");

/// (H, W) for grey, (H, W, 3) for colour; uint8.
py::array_t<std::uint8_t> to_array(const xraykit::Image& img);

}  // namespace xrkpy
