#pragma once
// SHA-256 (FIPS 180-4), for one-way patient identifiers (DICOM PatientID never leaves the
// library in clear). Not used for anything secret beyond that.
#include <array>
#include <cstdint>
#include <string>

namespace xraykit {

std::array<std::uint8_t, 32> sha256(const std::string& message);
std::string sha256_hex(const std::string& message);

}  // namespace xraykit
