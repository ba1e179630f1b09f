// Bytes -> pixels: format sniffing, size checks before allocation, truncation checks that
// the decoders do not make themselves, and PNG encoding. JPEG: libjpeg-turbo; PNG, BMP:
// stb_image.
#include <stb_image.h>
#include <stb_image_write.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include <fmt/format.h>

#include "xraykit/error.hpp"
#include "xraykit/image.hpp"
#include "image/dicom.hpp"
#include "util/file_util.hpp"

namespace xraykit {
namespace {

enum class Format { Jpeg, Png, Bmp, Unknown };

Format sniff(const std::uint8_t* b, std::size_t n) {
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Format::Jpeg;
  static const std::uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n >= 8 && std::memcmp(b, png, 8) == 0) return Format::Png;
  if (n >= 2 && b[0] == 'B' && b[1] == 'M') return Format::Bmp;
  return Format::Unknown;
}

// A JPEG whose data stops early must be refused, not zero-filled (stb_image did so). In entropy-coded
// data 0xFF is always followed by 0x00 or a restart marker, so an end-of-image marker near
// the end of the file is the reliable sign that the file is whole.
bool jpeg_has_end(const std::uint8_t* b, std::size_t n) {
  const std::size_t window = std::min<std::size_t>(n, 4096);
  for (std::size_t i = n - window; i + 1 < n; ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xD9) return true;
  return false;
}

// Likewise for BMP: the file must hold the pixel rows its header describes (uncompressed
// files; the size field, which writers may leave at 0, is not trusted) or, when compressed,
// the size it states.
bool bmp_is_whole(const std::uint8_t* b, std::size_t n, std::int64_t w, std::int64_t h) {
  if (n < 34) return false;
  auto u32 = [&](std::size_t at) { return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (std::uint32_t(b[at + 3]) << 24); };
  const std::uint32_t header = u32(14);
  const std::uint64_t offset = u32(10);
  if (header == 12) {  // OS/2 core header: always uncompressed
    const std::uint64_t bpp = b[24] | (b[25] << 8);
    return offset + (bpp * w + 31) / 32 * 4 * h <= n;
  }
  const std::uint64_t bpp = b[28] | (b[29] << 8);
  const std::uint32_t compression = u32(30);
  if (compression == 0 || compression == 3 || compression == 6)  // BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS
    return offset + (bpp * static_cast<std::uint64_t>(w) + 31) / 32 * 4 * static_cast<std::uint64_t>(h) <= n;
  const std::uint32_t declared = u32(2);
  return declared != 0 && declared <= n;
}

std::uint32_t be16(const std::uint8_t* p) { return (p[0] << 8) | p[1]; }
std::uint32_t be32(const std::uint8_t* p) { return (std::uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }
std::int32_t le32(const std::uint8_t* p) {
  return static_cast<std::int32_t>(p[0] | (p[1] << 8) | (p[2] << 16) | (std::uint32_t(p[3]) << 24));
}

// Width and height from the header alone. stb_image refuses some huge headers itself, but
// with a vague reason; reading them here gives the pixel limit one clear message.
bool header_size(Format f, const std::uint8_t* b, std::size_t n, std::int64_t& w, std::int64_t& h) {
  if (f == Format::Png) {
    if (n < 24 || std::memcmp(b + 12, "IHDR", 4) != 0) return false;
    w = be32(b + 16);
    h = be32(b + 20);
    return true;
  }
  if (f == Format::Bmp) {
    if (n < 26) return false;
    const std::int32_t header = le32(b + 14);
    if (header == 12) {
      w = b[18] | (b[19] << 8);
      h = b[20] | (b[21] << 8);
    } else {
      w = le32(b + 18);
      h = std::abs(static_cast<std::int64_t>(le32(b + 22)));
    }
    return true;
  }
  // JPEG: walk the marker segments to the first start-of-frame.
  std::size_t i = 2;
  while (i + 4 <= n) {
    if (b[i] != 0xFF) return false;
    const std::uint8_t m = b[i + 1];
    if (m == 0xFF) { ++i; continue; }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD9)) { i += 2; continue; }
    const std::size_t len = be16(b + i + 2);
    const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    if (sof) {
      if (i + 9 > n) return false;
      h = be16(b + i + 5);
      w = be16(b + i + 7);
      return true;
    }
    i += 2 + len;
  }
  return false;
}

// stb's reason for its last failure; it can be null (fmt refuses a null string with an
// exception that is not an ImageError: found by scripts/fuzz.sh, a 500 in the web app).
const char* stb_reason() {
  const char* reason = stbi_failure_reason();
  return reason ? reason : "no reason given";
}

// The largest DCT scale below full size (1/2, 1/4, 1/8) that keeps both sides >= min_side;
// 0 when none does (decode at full size, denominator 1).
int jpeg_scale_denominator(std::int64_t w, std::int64_t h, int min_side) {
  int best = 0;
  for (int d : {2, 4, 8})
    if (min_side > 0 && (w + d - 1) / d >= min_side && (h + d - 1) / d >= min_side) best = d;
  return best;
}

Image decode_jpeg_scaled(const std::uint8_t* bytes, std::size_t size, int denominator, int channels) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  if (!tj) throw ImageError("JPEG decoder could not start");
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.get(), bytes, static_cast<unsigned long>(size), &w, &h, &subsampling, &colorspace) != 0)
    throw ImageError(fmt::format("corrupt JPEG ({})", tjGetErrorStr2(tj.get())));
  const tjscalingfactor factor{1, denominator};
  Image img;
  img.width = TJSCALED(w, factor);
  img.height = TJSCALED(h, factor);
  img.channels = channels;
  img.pixels.resize(static_cast<std::size_t>(img.width) * img.height * channels);
  // Any warning (corrupt data the decoder papered over) counts as a failure.
  if (tjDecompress2(tj.get(), bytes, static_cast<unsigned long>(size), img.data(), img.width, 0, img.height,
                    channels == 1 ? TJPF_GRAY : TJPF_RGB, TJFLAG_STOPONWARNING) != 0)
    throw ImageError(fmt::format("corrupt JPEG ({})", tjGetErrorStr2(tj.get())));
  return img;
}

}  // namespace

Image decode_image(const std::uint8_t* bytes, std::size_t size, const DecodeOptions& options, DicomTags* dicom_tags) {
  if (options.channels != 1 && options.channels != 3)
    throw InvalidArgument(fmt::format("channels must be 1 or 3, not {}", options.channels));
  if (bytes == nullptr || size == 0) throw ImageError("empty file (0 bytes)");
  if (size > static_cast<std::size_t>(INT32_MAX)) throw ImageError("file larger than 2 GiB");

  // DICOM first: its 128-byte preamble may hold anything, even another format's signature.
  if (is_dicom(bytes, size)) return decode_dicom(bytes, size, options, dicom_tags);
  const Format format = sniff(bytes, size);
  if (format == Format::Unknown) throw ImageError("not a JPEG, PNG, BMP or DICOM image");

  std::int64_t hw = 0, hh = 0;
  if (!header_size(format, bytes, size, hw, hh)) throw ImageError("unreadable image header");
  if (hw <= 0 || hh <= 0) throw ImageError("image has no pixels");
  if (hw > options.max_pixels / hh)  // no product: 0xFFFFFFFF squared overflows 64 bits
    throw ImageError(fmt::format("image is {}x{} pixels, above the limit of {} pixels", hw, hh,
                                 options.max_pixels));
  // JPEGs go to libjpeg-turbo only: Debian 12's stb_image (2.27) writes past its Huffman
  // tables on a DHT segment declaring more than 256 codes (found by scripts/fuzz.sh), already
  // while reading the header.
  if (format == Format::Jpeg) {
    if (!jpeg_has_end(bytes, size)) throw ImageError("truncated JPEG (no end-of-image marker)");
    return decode_jpeg_scaled(bytes, size, std::max(1, jpeg_scale_denominator(hw, hh, options.min_side)), options.channels);
  }
  const int len = static_cast<int>(size);
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(bytes, len, &w, &h, &comp))
    throw ImageError(fmt::format("unreadable image header ({})", stb_reason()));
  if (format == Format::Bmp && !bmp_is_whole(bytes, size, hw, hh))
    throw ImageError("truncated BMP (shorter than its header says)");

  int got = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> data(
      stbi_load_from_memory(bytes, len, &w, &h, &got, options.channels), stbi_image_free);
  if (!data) throw ImageError(fmt::format("corrupt image ({})", stb_reason()));

  Image img;
  img.width = w;
  img.height = h;
  img.channels = options.channels;
  img.pixels.assign(data.get(), data.get() + static_cast<std::size_t>(w) * h * options.channels);
  return img;
}

Image load_image(const std::string& path, const DecodeOptions& options) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  try {
    return decode_image(bytes.data(), bytes.size(), options);
  } catch (const ImageError& e) {
    throw ImageError(e.reason(), path);
  }
}

bool is_image_file(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || has_dicom_extension(path);
}

DicomTags read_dicom_tags(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  try {
    return dicom_tags(bytes.data(), bytes.size());
  } catch (const ImageError& e) {
    throw ImageError(e.reason(), path);
  }
}

std::vector<std::uint8_t> encode_png(const Image& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * image.channels)
    throw InvalidArgument("encode_png: image size and pixel buffer disagree");
  std::vector<std::uint8_t> out;
  auto sink = [](void* ctx, void* data, int n) {
    auto* v = static_cast<std::vector<std::uint8_t>*>(ctx);
    v->insert(v->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + n);
  };
  if (!stbi_write_png_to_func(sink, &out, image.width, image.height, image.channels,
                              image.data(), image.width * image.channels))
    throw ImageError("PNG encoding failed");
  return out;
}

void save_png(const Image& image, const std::string& path) {
  write_file_atomic(path, encode_png(image));
}

}  // namespace xraykit
