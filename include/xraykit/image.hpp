#pragma once
// Image decoding and resampling: the one place where bytes become pixels.
//
// All functions are pure and thread-safe. Errors: ImageError (bytes are not an accepted
// image, or it exceeds the pixel limit), IoError (file cannot be read).
#include <cstdint>
#include <string>
#include <vector>

#include "xraykit/export.hpp"

namespace xraykit {

/// An 8-bit image in row-major, interleaved (HWC) layout. Owns its pixels.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;  ///< 1 (grey) or 3 (RGB)
  std::vector<std::uint8_t> pixels;  ///< width * height * channels bytes

  std::uint8_t* data() { return pixels.data(); }
  const std::uint8_t* data() const { return pixels.data(); }
};

/// How an image of another aspect ratio is brought to the square network input.
enum class Geometry {
  /// Stretch to size x size. Default: the Kermany training images are already stored
  /// squashed to 224 x 224, so squashing full-size radiographs the same way keeps the
  /// inputs seen at prediction time alike to those seen in training.
  Squash,
  /// Keep the aspect ratio, shrink the long side to size and pad the rest with black
  /// (letterbox), centred.
  Pad,
};

struct DecodeOptions {
  int channels = 1;  ///< 1: convert to luminance; 3: RGB (grey sources are replicated)
  /// Images with more pixels than this are refused from their header, before any pixel
  /// memory is allocated (decompression bombs).
  std::int64_t max_pixels = 64'000'000;
  /// JPEG only: when both sides stay at least this long, decode at 1/2, 1/4 or 1/8 scale in
  /// the DCT domain (libjpeg-turbo) instead of at full size: a 2,000 px radiograph headed for
  /// a 224 px network need not be decoded whole. 0 = always full size.
  int min_side = 0;
  /// DICOM only: refuse views other than frontal ones (ViewPosition AP or PA) with a reason;
  /// files without the tag are read.
  bool frontal_only = true;
};

/// What xraykit reads from a DICOM file besides its pixels. No patient-identifying value
/// leaves the library in clear: `patient` is dicom_patient_hash(PatientID).
struct DicomTags {
  std::string patient;        ///< "dcm-" + 16 hex digits; empty when the file has no PatientID
  std::string view_position;  ///< ViewPosition (0018,5101): "AP", "PA", "LL", ... or empty
};

/// Decodes JPEG, PNG (8/16-bit; grey, grey+alpha, RGB, RGBA), BMP or DICOM from memory.
/// 16-bit samples are reduced to 8 bits; alpha is dropped. See DecodeOptions::min_side for
/// JPEGs that come back smaller than stored.
/// DICOM (Part 10 files, through DCMTK): one frame, stored in 8 to 16 bits, uncompressed or
/// in the transfer syntaxes DCMTK decodes (JPEG baseline/extended/lossless, JPEG-LS, RLE).
/// Pixels are what a viewer shows: modality rescale (slope and intercept), then the file's
/// first VOI window (centre/width), else its first VOI LUT, else (the fallback) the stored
/// values as they are when stored in 8 bits, the full range of the rescaled values above 8
/// bits; MONOCHROME1 is inverted so that bone is bright; colour (secondary captures) becomes
/// luminance. Refused with a reason: objects without an image (structured reports, PDFs,
/// presentation states), several frames, non-frontal views (DecodeOptions::frontal_only),
/// and more than max_pixels (from the header, before decoding). `dicom_tags`, when given,
/// receives a DICOM file's tags from the same parse (left as is for other formats).
XRAYKIT_API Image decode_image(const std::uint8_t* bytes, std::size_t size,
                               const DecodeOptions& options = {}, DicomTags* dicom_tags = nullptr);

/// Reads a file and decodes it; errors name the path.
XRAYKIT_API Image load_image(const std::string& path, const DecodeOptions& options = {});

/// Whether a file name has an extension xraykit reads as an image (.jpg, .jpeg, .png, .bmp,
/// .dcm, .dicom, any case): the rule folders are searched by.
XRAYKIT_API bool is_image_file(const std::string& path);

/// A DICOM file's patient (hashed) and view position, from its header. IoError if the file
/// cannot be read, ImageError if it is not DICOM.
XRAYKIT_API DicomTags read_dicom_tags(const std::string& path);

/// The one-way form of a DICOM PatientID that xraykit uses as the patient (for
/// patient-disjoint splits) and shows in reports: "dcm-" + the first 16 hex digits of
/// SHA-256(salt + id), salt from the environment variable XRAYKIT_PATIENT_SALT (empty if
/// unset; salt and id joined by a newline). Hospital ids are short and guessable by trying
/// them all: set a secret salt where the reports leave the hospital, and keep it for as long
/// as its splits must stay the same (another salt gives other ids). Empty for an empty id.
XRAYKIT_API std::string dicom_patient_hash(const std::string& patient_id);

/// Resamples to width x height. Shrinking averages the exact area each output pixel
/// covers (no aliasing on a 2,000 px radiograph); enlarging is bilinear.
XRAYKIT_API Image resize(const Image& src, int width, int height);

/// Brings an image to size x size following the geometry policy.
XRAYKIT_API Image fit_square(const Image& src, int size, Geometry geometry);

/// Encodes as PNG (for contact sheets, overlays and tests).
XRAYKIT_API std::vector<std::uint8_t> encode_png(const Image& image);

/// Writes a PNG atomically (temporary file, then rename).
XRAYKIT_API void save_png(const Image& image, const std::string& path);

}  // namespace xraykit
