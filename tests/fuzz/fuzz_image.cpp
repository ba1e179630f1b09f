// libFuzzer target: image decoding from bytes (JPEG full and DCT-scaled, PNG, BMP, DICOM:
// whatever the bytes claim to be) under a small pixel limit, then the square fit training
// uses. Refusals (ImageError) are expected; a crash, an over-read, an image over the limit
// or one whose pixel count disagrees with its size is not.
#include <cstdint>
#include <cstdlib>

#include "xraykit/error.hpp"
#include "xraykit/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte picks the options, the rest is the file.
  xraykit::DecodeOptions options;
  options.max_pixels = 1 << 18;  // the limit logic is the same at any size; small images keep inputs fast
  options.channels = (data[0] & 1) ? 3 : 1;
  options.min_side = (data[0] & 2) ? 16 : 0;
  options.frontal_only = (data[0] & 4) != 0;
  try {
    xraykit::DicomTags tags;
    const xraykit::Image img = xraykit::decode_image(data + 1, size - 1, options, &tags);
    const std::int64_t pixels = std::int64_t{img.width} * img.height;
    if (img.width < 1 || img.height < 1 || pixels > options.max_pixels || img.channels != options.channels ||
        img.pixels.size() != static_cast<std::size_t>(pixels) * img.channels)
      std::abort();
    const xraykit::Image square = xraykit::fit_square(img, 24, (data[0] & 8) ? xraykit::Geometry::Pad : xraykit::Geometry::Squash);
    if (square.pixels.size() != 24u * 24u * square.channels) std::abort();
  } catch (const xraykit::Error&) {
    // refused with a reason: the expected outcome for most inputs
  }
  return 0;
}
