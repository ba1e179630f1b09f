// DICOM decoding with DCMTK. Pixels go through DCMTK's own chain (modality rescale, VOI window
// or LUT, MONOCHROME1 inversion), so xraykit shows what a DICOM viewer shows; this file adds
// the refusals (no image, several frames, non-frontal views, the pixel limit before any pixel
// is decoded), colour to grey, and keeps every patient-identifying value out of messages.
#include "image/dicom.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>

#include <dcmtk/config/osconfig.h>  // must come first
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmimage/diregist.h>  // colour images in DicomImage
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>
#include <fmt/format.h>

#include "image/dicom_structure.hpp"
#include "util/sha256.hpp"
#include "xraykit/error.hpp"

namespace xraykit {

namespace {

void init_dcmtk() {
  static std::once_flag once;
  std::call_once(once, [] {
    // DCMTK's own log could quote element values (names, ids): xraykit reports errors itself.
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

std::unique_ptr<DcmFileFormat> parse(const std::uint8_t* bytes, std::size_t size) {
  init_dcmtk();
  if (!is_dicom(bytes, size)) throw ImageError("not a DICOM file (no DICM marker after the preamble)");
  check_dicom_structure(bytes, size);
  DcmInputBufferStream in;
  in.setBuffer(bytes, static_cast<offile_off_t>(size));
  in.setEos();
  auto file = std::make_unique<DcmFileFormat>();
  file->transferInit();
  const OFCondition status = file->read(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
  file->transferEnd();
  if (status.bad()) throw ImageError(fmt::format("unreadable DICOM file ({})", status.text()));
  return file;
}

std::string text_of(DcmDataset& data, const DcmTagKey& tag) {
  OFString value;
  return data.findAndGetOFString(tag, value).good() ? std::string(value.c_str()) : std::string();
}

// A value from the file as it may appear in a message: only if it is a short code made of
// `allowed` characters (a hostile or careless file could put a name or control codes there).
std::string shown(const std::string& value, const char* allowed) {
  if (value.empty() || value.size() > 64 || value.find_first_not_of(allowed) != std::string::npos)
    return "(an unrecognised value)";
  return value;
}

// What the object is, named by its SOP class (never by a value that could identify anyone).
std::string sop_class_name(DcmDataset& data) {
  const std::string uid = text_of(data, DCM_SOPClassUID);
  const char* name = uid.empty() ? nullptr : dcmFindNameOfUID(uid.c_str());
  return name ? name : (uid.empty() ? "no SOP class" : shown(uid, "0123456789."));
}

// The refusals that need only the header, in the order a user would want to hear them.
void check_header(DcmDataset& data, const DecodeOptions& options) {
  if (!data.tagExists(DCM_PixelData))
    throw ImageError(fmt::format("DICOM object without an image ({}): structured reports, documents and "
                                 "presentation states are not radiographs", sop_class_name(data)));
  Sint32 frames = 1;
  if (data.findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 1)
    throw ImageError(fmt::format("multi-frame DICOM ({} frames): only single radiographs are read", frames));
  Uint16 rows = 0, columns = 0;
  data.findAndGetUint16(DCM_Rows, rows);
  data.findAndGetUint16(DCM_Columns, columns);
  if (rows == 0 || columns == 0) throw ImageError("DICOM image has no pixels (Rows or Columns is 0)");
  if (static_cast<std::int64_t>(rows) * columns > options.max_pixels)
    throw ImageError(fmt::format("image is {}x{} pixels, above the limit of {} pixels", columns, rows,
                                 options.max_pixels));
  const std::string view = text_of(data, DCM_ViewPosition);
  if (options.frontal_only && !view.empty() && view != "AP" && view != "PA")
    throw ImageError(fmt::format("DICOM view position '{}': only frontal views (AP, PA) are read "
                                 "(DecodeOptions::frontal_only)", shown(view, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")));
}

DicomTags tags_of(DcmDataset& data) {
  DicomTags tags;
  tags.patient = dicom_patient_hash(text_of(data, DCM_PatientID));
  tags.view_position = text_of(data, DCM_ViewPosition);
  return tags;
}

// The VOI transform a viewer would use: the file's first window, else its first VOI LUT,
// else (documented fallback) none for values stored in 8 bits (already display values, as in
// a secondary capture of a radiograph) and the full range of the rescaled values above that.
void choose_window(DicomImage& image, Uint16 bits_stored) {
  if (image.getWindowCount() > 0 && image.setWindow(0)) return;
  if (image.getVoiLutCount() > 0 && image.setVoiLut(0)) return;
  if (bits_stored <= 8) {
    image.setNoVoiTransformation();
    return;
  }
  image.setMinMaxWindow(0);
}

}  // namespace

bool has_dicom_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".dcm" || ext == ".dicom";
}

bool is_dicom(const std::uint8_t* bytes, std::size_t size) {
  return bytes != nullptr && size >= 132 && bytes[128] == 'D' && bytes[129] == 'I' && bytes[130] == 'C' &&
         bytes[131] == 'M';
}

Image decode_dicom(const std::uint8_t* bytes, std::size_t size, const DecodeOptions& options, DicomTags* tags) {
  auto file = parse(bytes, size);
  DcmDataset& data = *file->getDataset();
  check_header(data, options);
  if (tags) *tags = tags_of(data);
  Uint16 bits_stored = 8;
  data.findAndGetUint16(DCM_BitsStored, bits_stored);
  DicomImage decoded(file.get(), data.getOriginalXfer(), CIF_MayDetachPixelData, 0, 1);
  if (decoded.getStatus() != EIS_Normal)
    throw ImageError(fmt::format("DICOM pixels cannot be decoded ({})", DicomImage::getString(decoded.getStatus())));
  // Colour (RGB, YBR: secondary captures of films) becomes luminance, like colour JPEGs.
  std::unique_ptr<DicomImage> grey;
  if (!decoded.isMonochrome()) {
    grey.reset(decoded.createMonochromeImage());
    if (!grey || grey->getStatus() != EIS_Normal) throw ImageError("DICOM colour image cannot be converted to grey");
    bits_stored = 8;
  }
  DicomImage& image = grey ? *grey : decoded;
  choose_window(image, bits_stored);
  const auto* pixels = static_cast<const std::uint8_t*>(image.getOutputData(8, 0, 0));
  if (pixels == nullptr) throw ImageError("DICOM pixels cannot be rendered");
  Image out;
  out.width = static_cast<int>(image.getWidth());
  out.height = static_cast<int>(image.getHeight());
  out.channels = options.channels;
  const std::size_t n = static_cast<std::size_t>(out.width) * out.height;
  out.pixels.resize(n * out.channels);
  for (std::size_t i = 0; i < n; ++i)
    for (int c = 0; c < out.channels; ++c) out.pixels[i * out.channels + c] = pixels[i];
  return out;
}

DicomTags dicom_tags(const std::uint8_t* bytes, std::size_t size) {
  auto file = parse(bytes, size);
  return tags_of(*file->getDataset());
}

std::string dicom_patient_hash(const std::string& patient_id) {
  if (patient_id.empty()) return {};
  const char* salt = std::getenv("XRAYKIT_PATIENT_SALT");
  // The separator keeps salt "ab" + id "c" apart from salt "a" + id "bc".
  return "dcm-" + sha256_hex(salt && *salt ? std::string(salt) + '\n' + patient_id : patient_id).substr(0, 16);
}

}  // namespace xraykit
