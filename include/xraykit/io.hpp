#pragma once
// Small file helpers shared by the shells (CLI, C ABI, Python).
#include <string>

#include "xraykit/export.hpp"

namespace xraykit {

/// Writes text atomically (temporary file beside it, then rename). IoError naming the path.
XRAYKIT_API void save_text(const std::string& path, const std::string& text);

/// One CSV field, double-quoted when it holds a comma, quote or line break.
XRAYKIT_API std::string csv_field(const std::string& s);

}  // namespace xraykit
