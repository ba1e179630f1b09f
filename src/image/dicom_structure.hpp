#pragma once
// A bounded walk over a DICOM file's elements before DCMTK parses it. DCMTK 3.6.7 reads nested
// sequences by recursion without a depth limit (a 2 MB file of nested items overflows the
// stack) and allocates whatever length an element declares before reading it. This walk,
// iterative and allocation-free, refuses both first, and the JPEG fragments on which DCMTK's
// JPEG decoder never returns.
#include <cstddef>
#include <cstdint>

namespace xraykit {

/// Sequences nested deeper than this are refused (radiographs nest 2-3 levels).
constexpr int kMaxDicomNesting = 16;

/// ImageError naming what is wrong when the file's structure is not one DCMTK may be given:
/// nesting above kMaxDicomNesting, a length past the end of the file, a truncated element, or
/// a transfer syntax whose dataset cannot be walked (deflated, big endian), or a JPEG fragment
/// that DCMTK 3.6.7 would loop on for ever (a TEM marker before the frame header).
void check_dicom_structure(const std::uint8_t* bytes, std::size_t size);

}  // namespace xraykit
