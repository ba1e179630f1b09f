#pragma once
// The immutable pixel store behind every Dataset view (internal).
#include <cstdint>
#include <string>
#include <vector>

#include "xraykit/dataset.hpp"

namespace xraykit {

struct Dataset::Storage {
  std::string source;  // folder or manifest it came from, for messages
  std::vector<std::string> classes;
  int image_size = 0;
  int channels = 0;
  std::vector<std::string> paths;
  std::vector<int> labels;
  std::vector<std::string> patients;
  std::vector<std::string> views;  // DICOM ViewPosition per image; empty when not DICOM or untagged
  std::vector<std::uint8_t> pixels;  // paths.size() images of image_bytes() each, HWC
  std::vector<SkippedFile> skipped;
  std::size_t ignored = 0;
  std::vector<std::string> warnings;

  std::size_t image_bytes() const {
    return static_cast<std::size_t>(image_size) * image_size * channels;
  }
};

// Grants the loading code access to Dataset's private constructor.
struct DatasetBuilder {
  static Dataset make(Dataset::Storage storage);
};

}  // namespace xraykit
