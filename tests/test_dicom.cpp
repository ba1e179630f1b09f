// DICOM (issue 14): pixels as a viewer shows them (rescale, window, MONOCHROME1, the fallback),
// compressed transfer syntaxes, refusals with reasons, hashed patient ids, and no
// patient-identifying value in anything the library writes. Files are built here with DCMTK.
#include <doctest/doctest.h>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpls/djencode.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>

#include <stdlib.h>

#include "support.hpp"
#include "xraykit/dataset.hpp"
#include "xraykit/error.hpp"
#include "xraykit/image.hpp"

using namespace xraykit;
using namespace testsupport;

namespace {

constexpr const char* kPatientId = "MRN0042";
constexpr const char* kPatientName = "DOE^JANE";

struct DicomSpec {
  int width = 40, height = 30;
  int bits = 16;  ///< allocated: 8 or 16
  int stored = 12;
  std::string photometric = "MONOCHROME2";
  std::vector<std::uint16_t> values;  ///< stored values, width * height (* frames)
  std::string window_center, window_width, slope, intercept;
  std::string view = "PA";
  std::string patient_id = kPatientId;
  int frames = 1;
  bool pixels = true;
  std::string sop = UID_DigitalXRayImageStorageForPresentation;
  E_TransferSyntax xfer = EXS_LittleEndianExplicit;
};

// A horizontal ramp over the stored range, different on every row.
std::vector<std::uint16_t> ramp(int w, int h, int max_value) {
  std::vector<std::uint16_t> v(static_cast<std::size_t>(w) * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) v[y * w + x] = static_cast<std::uint16_t>((x * max_value / (w - 1) + 7 * y) % (max_value + 1));
  return v;
}

// 12 bits stored, shown over their whole range.
DicomSpec full_window() {
  DicomSpec s;
  s.window_center = "2048";
  s.window_width = "4096";
  return s;
}

void write_dicom(const fs::path& path, DicomSpec s) {
  static std::once_flag codecs;
  std::call_once(codecs, [] {
    DJEncoderRegistration::registerCodecs();
    DJLSEncoderRegistration::registerCodecs();
    DcmRLEEncoderRegistration::registerCodecs();
  });
  DcmFileFormat file;
  DcmDataset* d = file.getDataset();
  char uid[100];
  d->putAndInsertString(DCM_SOPClassUID, s.sop.c_str());
  d->putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  d->putAndInsertString(DCM_PatientName, kPatientName);
  d->putAndInsertString(DCM_PatientID, s.patient_id.c_str());
  if (!s.view.empty()) d->putAndInsertString(DCM_ViewPosition, s.view.c_str());
  if (s.pixels) {
    if (s.values.empty()) s.values = ramp(s.width, s.height * s.frames, (1 << s.stored) - 1);
    d->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(s.height));
    d->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(s.width));
    d->putAndInsertUint16(DCM_SamplesPerPixel, 1);
    d->putAndInsertString(DCM_PhotometricInterpretation, s.photometric.c_str());
    d->putAndInsertUint16(DCM_BitsAllocated, static_cast<Uint16>(s.bits));
    d->putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(s.stored));
    d->putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(s.stored - 1));
    d->putAndInsertUint16(DCM_PixelRepresentation, 0);
    if (s.frames > 1) d->putAndInsertString(DCM_NumberOfFrames, std::to_string(s.frames).c_str());
    if (!s.window_center.empty()) {
      d->putAndInsertString(DCM_WindowCenter, s.window_center.c_str());
      d->putAndInsertString(DCM_WindowWidth, s.window_width.c_str());
    }
    if (!s.slope.empty()) {
      d->putAndInsertString(DCM_RescaleSlope, s.slope.c_str());
      d->putAndInsertString(DCM_RescaleIntercept, s.intercept.c_str());
    }
    if (s.bits == 8) {
      std::vector<Uint8> bytes(s.values.begin(), s.values.end());
      d->putAndInsertUint8Array(DCM_PixelData, bytes.data(), bytes.size());
    } else {
      d->putAndInsertUint16Array(DCM_PixelData, s.values.data(), s.values.size());
    }
  }
  if (s.xfer != EXS_LittleEndianExplicit) REQUIRE(d->chooseRepresentation(s.xfer, nullptr).good());
  REQUIRE(file.saveFile(path.string().c_str(), s.xfer).good());
}

Image load(const fs::path& p, DecodeOptions o = {}) { return load_image(p.string(), o); }

// PS3.3 C.11.2.1.2: the linear VOI function to 8 bits.
int windowed(double x, double c, double w) {
  if (x <= c - 0.5 - (w - 1) / 2) return 0;
  if (x > c - 0.5 + (w - 1) / 2) return 255;
  return static_cast<int>(std::lround(((x - (c - 0.5)) / (w - 1) + 0.5) * 255));
}

void add(std::vector<std::uint8_t>& b, std::initializer_list<int> bytes) {
  for (int v : bytes) b.push_back(static_cast<std::uint8_t>(v));
}

// A Part 10 file by hand: preamble, DICM, a file meta group holding only the transfer syntax
// (explicit VR little endian), then `dataset` as given.
std::vector<std::uint8_t> dicom_bytes(const std::vector<std::uint8_t>& dataset) {
  std::vector<std::uint8_t> b(128, 0);
  for (char c : std::string("DICM")) b.push_back(static_cast<std::uint8_t>(c));
  const std::string syntax("1.2.840.10008.1.2.1", 20);  // NUL-padded to even length
  add(b, {0x02, 0x00, 0x10, 0x00, 'U', 'I', static_cast<int>(syntax.size()), 0});
  b.insert(b.end(), syntax.begin(), syntax.end());
  b.insert(b.end(), dataset.begin(), dataset.end());
  return b;
}

int max_difference(const Image& a, const Image& b) {
  REQUIRE(a.pixels.size() == b.pixels.size());
  int worst = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::abs(a.pixels[i] - b.pixels[i]));
  return worst;
}

}  // namespace

TEST_CASE("DICOM pixels: modality rescale, then the file's window (12 and 16 bits stored)") {
  TempDir dir;
  for (int bits : {12, 16}) {
    CAPTURE(bits);
    const int top = (1 << bits) - 1;
    DicomSpec s;
    s.stored = bits;
    s.slope = "2";
    s.intercept = "-1000";
    s.window_center = std::to_string(top / 2);
    s.window_width = std::to_string(top);
    write_dicom(dir / "a.dcm", s);
    const Image img = load(dir / "a.dcm");
    REQUIRE(img.width == s.width);
    REQUIRE(img.height == s.height);
    const auto stored = ramp(s.width, s.height, top);
    int worst = 0;
    for (std::size_t i = 0; i < stored.size(); ++i)
      worst = std::max(worst, std::abs(img.pixels[i] - windowed(stored[i] * 2.0 - 1000, top / 2, top)));
    CHECK(worst <= 1);
    CHECK(load(dir / "a.dcm", DecodeOptions{3}).channels == 3);
  }
}

TEST_CASE("DICOM MONOCHROME1 is inverted: bone is bright as in MONOCHROME2") {
  TempDir dir;
  DicomSpec s = full_window();
  write_dicom(dir / "m2.dcm", s);
  s.photometric = "MONOCHROME1";
  write_dicom(dir / "m1.dcm", s);
  const Image m1 = load(dir / "m1.dcm"), m2 = load(dir / "m2.dcm");
  int worst = 0;
  for (std::size_t i = 0; i < m1.pixels.size(); ++i) worst = std::max(worst, std::abs(m1.pixels[i] + m2.pixels[i] - 255));
  CHECK(worst <= 1);
}

TEST_CASE("DICOM without a window: the documented fallbacks") {
  TempDir dir;
  DicomSpec s;  // 12 bits stored, values 500 .. 1500: stretched to the full range
  s.values = ramp(s.width, s.height, 1000);
  for (auto& v : s.values) v += 500;
  write_dicom(dir / "a.dcm", s);
  const Image img = load(dir / "a.dcm");
  CHECK(*std::min_element(img.pixels.begin(), img.pixels.end()) == 0);
  CHECK(*std::max_element(img.pixels.begin(), img.pixels.end()) == 255);

  DicomSpec b;  // 8 bits stored, values 50 .. 150: shown as stored
  b.bits = b.stored = 8;
  b.values = ramp(b.width, b.height, 100);
  for (auto& v : b.values) v += 50;
  write_dicom(dir / "b.dcm", b);
  const Image img8 = load(dir / "b.dcm");
  int worst = 0;
  for (std::size_t i = 0; i < b.values.size(); ++i) worst = std::max(worst, std::abs(img8.pixels[i] - b.values[i]));
  CHECK(worst == 0);
}

TEST_CASE("DICOM from real pixels: an identity window gives the source image back") {
  TempDir dir;
  Image src = pattern_image(64, 48, 1);
  const std::string data = real_data_dir();
  if (!data.empty()) {
    for (const auto& e : fs::directory_iterator(fs::path(data) / "NORMAL")) {
      src = load_image(e.path().string());
      break;
    }
  }
  DicomSpec s;
  s.width = src.width;
  s.height = src.height;
  s.bits = s.stored = 8;
  s.values.assign(src.pixels.begin(), src.pixels.end());
  s.window_center = "128";
  s.window_width = "256";
  write_dicom(dir / "real.dcm", s);
  CHECK(max_difference(load(dir / "real.dcm"), src) <= 1);
}

TEST_CASE("compressed DICOM decodes to the same pixels as uncompressed") {
  TempDir dir;
  DicomSpec s = full_window();
  write_dicom(dir / "plain.dcm", s);
  const Image plain = load(dir / "plain.dcm");
  for (E_TransferSyntax xfer : {EXS_RLELossless, EXS_JPEGProcess14SV1, EXS_JPEGLSLossless}) {
    CAPTURE(DcmXfer(xfer).getXferName());
    s.xfer = xfer;
    write_dicom(dir / "packed.dcm", s);
    CHECK(max_difference(load(dir / "packed.dcm"), plain) == 0);
  }
  // Lossy JPEG baseline (8-bit): close, not equal.
  DicomSpec b;
  b.bits = b.stored = 8;
  b.values = ramp(b.width, b.height, 255);
  b.window_center = "128";
  b.window_width = "256";
  write_dicom(dir / "plain8.dcm", b);
  b.xfer = EXS_JPEGProcess1;
  write_dicom(dir / "baseline.dcm", b);
  const Image p8 = load(dir / "plain8.dcm"), j8 = load(dir / "baseline.dcm");
  double sum = 0;
  for (std::size_t i = 0; i < p8.pixels.size(); ++i) sum += std::abs(p8.pixels[i] - j8.pixels[i]);
  CHECK(sum / p8.pixels.size() < 4);
}

TEST_CASE("DICOM objects that are not one frontal radiograph are refused with the reason") {
  TempDir dir;
  DicomSpec report;
  report.pixels = false;
  report.sop = UID_BasicTextSRStorage;
  write_dicom(dir / "report.dcm", report);
  CHECK_THROWS_WITH_AS(load(dir / "report.dcm"), doctest::Contains("without an image (BasicTextSRStorage)"), ImageError);

  DicomSpec frames;
  frames.frames = 2;
  write_dicom(dir / "cine.dcm", frames);
  CHECK_THROWS_WITH_AS(load(dir / "cine.dcm"), doctest::Contains("multi-frame DICOM (2 frames)"), ImageError);

  DicomSpec lateral;
  lateral.view = "LL";
  write_dicom(dir / "lateral.dcm", lateral);
  CHECK_THROWS_WITH_AS(load(dir / "lateral.dcm"), doctest::Contains("view position 'LL'"), ImageError);
  DecodeOptions any_view;
  any_view.frontal_only = false;
  CHECK(load(dir / "lateral.dcm", any_view).width == lateral.width);

  DicomSpec huge;  // the header claims 60000 x 60000; refused before any pixel is decoded
  huge.width = huge.height = 60000;
  huge.values.assign(16, 0);
  write_dicom(dir / "huge.dcm", huge);
  CHECK_THROWS_WITH_AS(load(dir / "huge.dcm"), doctest::Contains("above the limit"), ImageError);

  // A truncated file: the first half of a good one.
  const auto whole = read_bytes(dir / "cine.dcm");
  const std::vector<std::uint8_t> half(whole.begin(), whole.begin() + whole.size() / 2);
  CHECK_THROWS_AS(decode_image(half.data(), half.size()), ImageError);

  TempDir junk;
  std::vector<std::uint8_t> bytes(200, 0);
  bytes[128] = 'D', bytes[129] = 'I', bytes[130] = 'C', bytes[131] = 'M';
  for (std::size_t i = 132; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 37);
  write_bytes(junk / "junk.dcm", bytes);
  CHECK_THROWS_AS(load(junk / "junk.dcm"), ImageError);
}

TEST_CASE("hostile DICOM structure is refused before DCMTK reads it") {
  // 100,000 nested sequences (2 MB): DCMTK 3.6.7 recurses once per level and would overflow
  // the stack.
  std::vector<std::uint8_t> deep;
  for (int i = 0; i < 100000; ++i) {
    add(deep, {0x08, 0x00, 0x40, 0x11, 'S', 'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF});  // (0008,1140) SQ, undefined
    add(deep, {0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF});                  // item, undefined
  }
  const auto nested = dicom_bytes(deep);
  CHECK_THROWS_WITH_AS(decode_image(nested.data(), nested.size()), doctest::Contains("nested deeper than 16"), ImageError);

  // An element that declares 4 GB in a file of a few hundred bytes.
  std::vector<std::uint8_t> big;
  add(big, {0x09, 0x00, 0x10, 0x00, 'O', 'B', 0, 0, 0xF0, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4});
  const auto huge = dicom_bytes(big);
  CHECK_THROWS_WITH_AS(decode_image(huge.data(), huge.size()), doctest::Contains("longer than the file"), ImageError);

  // A delimiter with nothing open.
  std::vector<std::uint8_t> stray;
  add(stray, {0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0});
  const auto closing = dicom_bytes(stray);
  CHECK_THROWS_WITH_AS(decode_image(closing.data(), closing.size()), doctest::Contains("closes nothing"), ImageError);

  // A JPEG-compressed file whose first fragment has a TEM marker (FF01) after its SOI: DCMTK
  // 3.6.7 looks for the sample precision and loops for ever (found by scripts/fuzz.sh).
  {
    TempDir jpeg_dir;
    DicomSpec b;
    b.bits = b.stored = 8;
    b.values = ramp(b.width, b.height, 255);
    b.xfer = EXS_JPEGProcess1;
    write_dicom(jpeg_dir / "baseline.dcm", b);
    std::ifstream in(jpeg_dir / "baseline.dcm", std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::uint8_t soi[] = {0xFF, 0xD8, 0xFF};
    const auto at = std::search(bytes.begin(), bytes.end(), std::begin(soi), std::end(soi));
    REQUIRE(at != bytes.end());
    at[3] = 0x01;  // the marker after SOI becomes TEM
    CHECK_THROWS_WITH_AS(decode_image(bytes.data(), bytes.size()), doctest::Contains("TEM marker"), ImageError);
  }

  // A view position that is not a code is not repeated in the message.
  TempDir dir;
  DicomSpec s;
  s.view = "DOE^JANE";
  write_dicom(dir / "odd.dcm", s);
  try {
    load(dir / "odd.dcm");
    FAIL("an unusual view position was accepted");
  } catch (const ImageError& e) {
    CHECK(std::string(e.what()).find("an unrecognised value") != std::string::npos);
    CHECK(std::string(e.what()).find("DOE") == std::string::npos);
  }
}

TEST_CASE("DICOM patients: PatientID hashed one way, never shown in clear") {
  ::unsetenv("XRAYKIT_PATIENT_SALT");
  CHECK(dicom_patient_hash("abc") == "dcm-ba7816bf8f01cfea");  // SHA-256("abc"), FIPS 180-4
  CHECK(dicom_patient_hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "dcm-248d6a61d20638b8");
  CHECK(dicom_patient_hash("").empty());
  ::setenv("XRAYKIT_PATIENT_SALT", "secret", 1);
  CHECK(dicom_patient_hash("abc") != "dcm-ba7816bf8f01cfea");
  CHECK(dicom_patient_hash("abc") == dicom_patient_hash("abc"));
  ::unsetenv("XRAYKIT_PATIENT_SALT");

  TempDir dir;
  int n = 0;
  for (const char* cls : {"NORMAL", "PNEUMONIA"}) {
    fs::create_directories(dir / cls);
    for (const char* id : {"MRN0042", "MRN0042", "MRN0043", "MRN0044"}) {
      DicomSpec s = full_window();
      s.patient_id = std::string(id) + cls;
      write_dicom(dir / cls / ("img" + std::to_string(n++) + ".dcm"), s);
    }
  }
  DicomSpec lateral;
  lateral.view = "LL";
  write_dicom(dir / "NORMAL" / "side.dcm", lateral);

  DatasetOptions o;
  o.image_size = 32;
  const Dataset d = Dataset::from_folder(dir.path().string(), o);
  REQUIRE(d.size() == 8);
  REQUIRE(d.skipped().size() == 1);
  CHECK(d.skipped()[0].reason.find("view position 'LL'") != std::string::npos);
  std::set<std::string> patients;
  for (std::size_t i = 0; i < d.size(); ++i) patients.insert(d.patient(i));
  CHECK(patients.size() == 6);  // two images of each MRN0042 share their patient
  CHECK(patients.count(dicom_patient_hash("MRN0042NORMAL")) == 1);
  const std::string everything = d.to_csv() + d.summary() + d.detailed_summary() + d.skipped()[0].reason;
  CHECK(d.detailed_summary().find("DICOM view positions: PA 8") != std::string::npos);
  CHECK(everything.find("MRN") == std::string::npos);
  CHECK(everything.find("DOE") == std::string::npos);
}

TEST_CASE("a Dataset records each DICOM file's view position, other formats have none") {
  TempDir dir;
  int n = 0;
  for (const char* cls : {"NORMAL", "PNEUMONIA"}) {
    fs::create_directories(dir / cls);
    for (const char* view : {"AP", "PA", ""}) {
      DicomSpec s = full_window();
      s.view = view;
      s.patient_id = "P" + std::to_string(n);
      write_dicom(dir / cls / ("v" + std::to_string(n++) + ".dcm"), s);
    }
    save_png(Image{16, 16, 1, std::vector<std::uint8_t>(256, 90)},
             (dir / cls / ("person" + std::to_string(n) + "_plain.png")).string());
  }
  DatasetOptions o;
  o.image_size = 16;
  const Dataset d = Dataset::from_folder(dir.path().string(), o);
  REQUIRE(d.size() == 8);
  std::map<std::string, std::string> view_of;
  for (std::size_t i = 0; i < d.size(); ++i) view_of[fs::path(d.path(i)).filename().string()] = d.view_position(i);
  CHECK(view_of["v0.dcm"] == "AP");
  CHECK(view_of["v1.dcm"] == "PA");
  CHECK(view_of["v2.dcm"].empty());
  CHECK(view_of["person3_plain.png"].empty());
  // Views survive subsets and splits (they belong to the image, not to the view of it).
  const Dataset sub = d.subset({1});
  CHECK(sub.view_position(0) == d.view_position(1));
  CHECK(d.detailed_summary().find("DICOM view positions: AP 2, PA 2") != std::string::npos);
  CHECK_THROWS_AS(d.view_position(8), InvalidArgument);
}
