// Uses the installed headers and library: builds a dataset in memory, splits it, and
// catches a library error by its type (the exception classes must be exported).
#include <cstdio>
#include <xraykit/xraykit.hpp>

int main() {
  std::vector<xraykit::Image> images;
  std::vector<int> labels;
  for (int i = 0; i < 8; ++i) {
    images.push_back({16, 16, 1, std::vector<std::uint8_t>(256, static_cast<std::uint8_t>(i * 30))});
    labels.push_back(i % 2);
  }
  xraykit::DatasetOptions opt;
  opt.image_size = 8;
  const auto data = xraykit::Dataset::from_images(images, labels, {"a", "b"}, {}, opt);
  const auto split = data.split(0.25, 1);
  try {
    xraykit::load_image("/nonexistent/file.png");
    return 1;
  } catch (const xraykit::IoError& e) {
    std::printf("caught: %s\n", e.what());
  }
  std::printf("xraykit %s: %zu images, %zu train / %zu val\n", XRAYKIT_VERSION_STRING, data.size(),
              split.train.size(), split.val.size());
  return (data.size() == 8 && split.val.size() == 2) ? 0 : 1;
}
