// libFuzzer target: the readers of model files that come from elsewhere. The first byte picks
// the form of the rest:
//   0: an xraykit file as is (read_container: magic, kind, version, sections, checksum);
//   1: the same with a valid CRC-32 appended, so that inputs reach the sections, each of
//      which then goes through the bounded pickle reader as loading does ("weights", "ood");
//   2: a torchvision .pth (a torch.save zip archive) for the same reader.
// Refusals (xraykit::Error) are expected. Every tensor returned is read whole, so that a view
// reaching outside its storage is caught by ASan.
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <c10/util/Logging.h>

#include "model/container.hpp"
#include "model/torch_pickle.hpp"
#include "xraykit/error.hpp"

namespace fs = std::filesystem;

namespace {

void read_all(const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  volatile std::uint8_t sum = 0;
  for (const auto& [name, t] : tensors) {
    const torch::Tensor c = t.contiguous();
    const auto* bytes = static_cast<const std::uint8_t*>(c.data_ptr());
    for (std::size_t i = 0; i < c.nbytes(); ++i) sum = sum + bytes[i];
  }
}

void xrk(const std::uint8_t* data, std::size_t size, bool fix_checksum) {
  static const fs::path path = fs::temp_directory_path() / ("xraykit-fuzz-model-" + std::to_string(::getpid()) + ".xrk");
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (fix_checksum) {
      const std::uint64_t crc = ::crc32(::crc32(0, nullptr, 0), data, static_cast<uInt>(size));
      for (int i = 0; i < 8; ++i) out.put(static_cast<char>((crc >> (8 * i)) & 0xff));
    }
  }
  const xraykit::ContainerFile file = xraykit::read_container(path.string(), (size % 2) ? "model" : "checkpoint");
  for (const auto& [name, bytes] : file.sections)
    if (name != "meta.json") read_all(xraykit::read_torch_state_dict(bytes.begin(), bytes.size, name));
}

}  // namespace

// LibTorch records a symbolised stack trace in every c10::Error it throws (milliseconds each);
// most fuzz inputs are refused that way, so the trace is skipped here for speed.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  c10::SetStackTraceFetcher([] { return std::string(); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  try {
    switch (data[0] % 3) {
      case 0: xrk(data + 1, size - 1, false); break;
      case 1: xrk(data + 1, size - 1, true); break;
      default: read_all(xraykit::read_torch_state_dict(data + 1, size - 1, "fuzz.pth"));
    }
  } catch (const xraykit::Error&) {
    // refused with a reason
  }
  return 0;
}
