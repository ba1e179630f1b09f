// libFuzzer target: the bounded DICOM structure walk that runs before DCMTK sees a file.
#include <cstdint>

#include "image/dicom_structure.hpp"
#include "xraykit/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    xraykit::check_dicom_structure(data, size);
  } catch (const xraykit::Error&) {
    // refused: the expected outcome for most inputs
  }
  return 0;
}
