// Separable resampling. Each output coordinate gets a short list of (source index, weight)
// taps, computed once per axis, so a 2,000 -> 224 shrink costs two passes over the image.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xraykit/error.hpp"
#include "xraykit/image.hpp"

namespace xraykit {
namespace {

struct Taps {
  std::vector<int> start;       // first source index per output index
  std::vector<int> count;       // number of taps per output index
  std::vector<float> weights;   // count[i] weights per output index, stored at offset[i]
  std::vector<int> offset;
};

// Shrinking: each output pixel averages exactly the source interval it covers (area / box
// filter), which cannot alias. Enlarging: bilinear on pixel centres.
Taps make_taps(int src, int dst) {
  Taps t;
  t.start.resize(dst);
  t.count.resize(dst);
  t.offset.resize(dst);
  const double scale = static_cast<double>(src) / dst;
  for (int i = 0; i < dst; ++i) {
    t.offset[i] = static_cast<int>(t.weights.size());
    if (scale >= 1.0) {
      const double lo = i * scale, hi = (i + 1) * scale;
      const int first = static_cast<int>(std::floor(lo));
      const int last = std::min(src - 1, static_cast<int>(std::ceil(hi)) - 1);
      for (int j = first; j <= last; ++j) {
        const double w = std::min(hi, j + 1.0) - std::max(lo, static_cast<double>(j));
        t.weights.push_back(static_cast<float>(w / scale));
      }
      t.start[i] = first;
      t.count[i] = last - first + 1;
    } else {
      const double x = std::clamp((i + 0.5) * scale - 0.5, 0.0, src - 1.0);
      const int j = std::min(static_cast<int>(x), src - 1);
      const double f = x - j;
      t.start[i] = j;
      if (j + 1 < src && f > 0) {
        t.weights.push_back(static_cast<float>(1 - f));
        t.weights.push_back(static_cast<float>(f));
        t.count[i] = 2;
      } else {
        t.weights.push_back(1.0f);
        t.count[i] = 1;
      }
    }
  }
  return t;
}

}  // namespace

Image resize(const Image& src, int width, int height) {
  if (width <= 0 || height <= 0)
    throw InvalidArgument(fmt::format("resize: target {}x{} is not positive", width, height));
  if (src.width <= 0 || src.height <= 0 ||
      src.pixels.size() != static_cast<std::size_t>(src.width) * src.height * src.channels)
    throw InvalidArgument("resize: source image size and pixel buffer disagree");
  if (src.width == width && src.height == height) return src;

  const int c = src.channels;
  const Taps tx = make_taps(src.width, width);
  const Taps ty = make_taps(src.height, height);

  // Horizontal pass into floats (src.height x width), then vertical pass into bytes.
  std::vector<float> mid(static_cast<std::size_t>(src.height) * width * c);
  for (int y = 0; y < src.height; ++y) {
    const std::uint8_t* row = src.data() + static_cast<std::size_t>(y) * src.width * c;
    float* out = mid.data() + static_cast<std::size_t>(y) * width * c;
    for (int x = 0; x < width; ++x) {
      const float* w = tx.weights.data() + tx.offset[x];
      for (int ch = 0; ch < c; ++ch) {
        float acc = 0;
        for (int k = 0; k < tx.count[x]; ++k) acc += w[k] * row[(tx.start[x] + k) * c + ch];
        out[x * c + ch] = acc;
      }
    }
  }
  Image dst;
  dst.width = width;
  dst.height = height;
  dst.channels = c;
  dst.pixels.resize(static_cast<std::size_t>(width) * height * c);
  const std::size_t stride = static_cast<std::size_t>(width) * c;
  std::vector<float> acc(stride);
  for (int y = 0; y < height; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    const float* w = ty.weights.data() + ty.offset[y];
    for (int k = 0; k < ty.count[y]; ++k) {
      const float* row = mid.data() + static_cast<std::size_t>(ty.start[y] + k) * stride;
      for (std::size_t i = 0; i < stride; ++i) acc[i] += w[k] * row[i];
    }
    std::uint8_t* out = dst.data() + y * stride;
    for (std::size_t i = 0; i < stride; ++i)
      out[i] = static_cast<std::uint8_t>(std::clamp(std::lround(acc[i]), 0L, 255L));
  }
  return dst;
}

Image fit_square(const Image& src, int size, Geometry geometry) {
  if (geometry == Geometry::Squash || src.width == src.height) return resize(src, size, size);
  const double scale = static_cast<double>(size) / std::max(src.width, src.height);
  const int w = std::max(1, static_cast<int>(std::lround(src.width * scale)));
  const int h = std::max(1, static_cast<int>(std::lround(src.height * scale)));
  const Image inner = resize(src, w, h);
  Image out;
  out.width = out.height = size;
  out.channels = src.channels;
  out.pixels.assign(static_cast<std::size_t>(size) * size * src.channels, 0);
  const int x0 = (size - w) / 2, y0 = (size - h) / 2;
  const std::size_t row_bytes = static_cast<std::size_t>(w) * src.channels;
  for (int y = 0; y < h; ++y)
    std::copy_n(inner.data() + y * row_bytes, row_bytes,
                out.data() + (static_cast<std::size_t>(y0 + y) * size + x0) * src.channels);
  return out;
}

}  // namespace xraykit
