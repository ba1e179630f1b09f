#pragma once
// DICOM radiographs (DCMTK): the pixels as an 8-bit presentation image, and the two tags the
// data layer needs. Internal; the public face is decode_image() / read_dicom_tags().
#include <cstdint>
#include <string>

#include "xraykit/image.hpp"

namespace xraykit {

/// Whether a file name says DICOM (.dcm, .dicom, any case): part of is_image_file's rule.
bool has_dicom_extension(const std::string& path);

/// "DICM" after the 128-byte preamble (Part 10 files; bare datasets are not accepted).
bool is_dicom(const std::uint8_t* bytes, std::size_t size);

/// Decodes one radiograph; `tags`, when given, receives its tags from the same parse (the
/// Dataset reads each file once).
Image decode_dicom(const std::uint8_t* bytes, std::size_t size, const DecodeOptions& options,
                   DicomTags* tags = nullptr);

DicomTags dicom_tags(const std::uint8_t* bytes, std::size_t size);

}  // namespace xraykit
