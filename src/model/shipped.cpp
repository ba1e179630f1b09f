// Where the models shipped with xraykit are: models/ in the source tree, share/xraykit/models
// once installed, share/xraykit/models in a build tree (CMake links them there).
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "xraykit/classifier.hpp"
#include "xraykit/error.hpp"

namespace xraykit {

namespace fs = std::filesystem;

namespace {

// The folder of this library's own file: a build tree or a relocated install finds its
// models beside it, whatever the prefix it was configured with.
fs::path library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&shipped_model_path), &info) == 0 || !info.dli_fname) return {};
  std::error_code ec;
  const fs::path lib = fs::canonical(info.dli_fname, ec);
  return ec ? fs::path() : lib.parent_path();
}

}  // namespace

std::string shipped_model_path(const std::string& name) {
  if (!std::regex_match(name, std::regex("[A-Za-z0-9][A-Za-z0-9_-]{0,63}")))
    throw InvalidArgument(fmt::format("shipped model name '{}': letters, digits, '-' and '_' only", name));
  std::vector<fs::path> places;
  if (const char* env = std::getenv("XRAYKIT_MODELS"); env && *env) places.emplace_back(env);
  const fs::path lib = library_dir();
  if (!lib.empty()) {
    places.push_back(lib / "../share/xraykit/models");     // build tree (build/src), or prefix/lib
    places.push_back(lib / "../../share/xraykit/models");  // prefix/lib/<multiarch>
  }
  places.emplace_back(XRAYKIT_INSTALL_DATADIR "/xraykit/models");
  std::vector<std::string> tried;
  for (const fs::path& dir : places) {
    const fs::path file = (dir / (name + ".xrk")).lexically_normal();
    std::error_code ec;
    if (fs::is_regular_file(file, ec)) return file.string();
    tried.push_back(file.string());
  }
  throw IoError(fmt::format("no shipped model '{}' (looked for {}); set XRAYKIT_MODELS to the folder that holds {}.xrk",
                            name, fmt::join(tried, ", "), name));
}

}  // namespace xraykit
