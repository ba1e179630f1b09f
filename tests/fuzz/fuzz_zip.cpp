// libFuzzer target: the studio's zip reader on arbitrary bytes. Besides not crashing (ASan,
// UBSan), every run must leave nothing outside its output folder and no link inside it.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "xraykit/error.hpp"
#include "zip_archive.hpp"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path base = fs::temp_directory_path() / ("xraykit-fuzz-zip-" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base);
  std::ofstream(base / "in.zip", std::ios::binary).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  xraykit::web::ZipLimits limits;
  limits.max_entry_bytes = 1 << 20;
  limits.max_total_bytes = 4 << 20;
  try {
    xraykit::web::extract_zip((base / "in.zip").string(), (base / "out").string(), limits,
                              [](const std::string& path) { return path.size() % 3 != 0; });
  } catch (const xraykit::Error&) {
    // refusals are the expected outcome for most inputs
  }
  for (const auto& entry : fs::directory_iterator(base))
    if (entry.path().filename() != "in.zip" && entry.path().filename() != "out") std::abort();  // escaped
  if (fs::exists(base / "out"))
    for (const auto& entry : fs::recursive_directory_iterator(base / "out"))
      if (entry.is_symlink()) std::abort();
  return 0;
}
