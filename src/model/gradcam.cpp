// Grad-CAM: the gradient of a class score with respect to a stage's activations, averaged
// over space, weights those activations; their positive sum, upsampled, is the map.
#include <fmt/format.h>

#include "model/classifier_impl.hpp"
#include "xraykit/error.hpp"

namespace xraykit {
namespace {

// A perceptually ordered blue -> cyan -> yellow -> red ramp.
void colour(float t, std::uint8_t* rgb) {
  static const float stops[5][3] = {{0, 0, 130}, {0, 120, 255}, {0, 230, 180}, {255, 220, 0}, {220, 0, 0}};
  const float x = std::clamp(t, 0.0f, 1.0f) * 4;
  const int i = std::min(3, static_cast<int>(x));
  const float f = x - i;
  for (int c = 0; c < 3; ++c) rgb[c] = static_cast<std::uint8_t>(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]));
}

}  // namespace

Explanation ResNetClassifier::explain(const Image& image, int class_index, const std::string& layer) const {
  int stage = 0;
  for (int k = 1; k <= 4; ++k)
    if (layer == fmt::format("layer{}", k)) stage = k;
  if (stage == 0) throw InvalidArgument(fmt::format("unknown layer '{}' for Grad-CAM (layer1 ... layer4)", layer));
  const int k = static_cast<int>(classes().size());
  if (class_index < -1 || class_index >= k)
    throw InvalidArgument(fmt::format("class index {} outside [0, {})", class_index, k));

  Explanation ex;
  ex.size = image_size();
  const auto lock = impl_->reading();
  const Image square = impl_->prepare(image, 0);
  const torch::Tensor x = impl_->to_batch({square});

  torch::AutoGradMode grad(true);
  const torch::Tensor acts = impl_->net->activations_through(x, stage).detach().requires_grad_(true);
  const torch::Tensor logits = impl_->net->logits_from_stage(acts, stage).to(torch::kFloat32);
  ex.prediction = impl_->predict_squares({square}, false)[0];  // as predict() answers, with its check
  ex.class_index = class_index < 0 ? static_cast<int>(logits.argmax(1).item<std::int64_t>()) : class_index;
  const torch::Tensor g = torch::autograd::grad({logits[0][ex.class_index]}, {acts})[0];

  const torch::Tensor weights = g.mean({2, 3}, /*keepdim=*/true);
  torch::Tensor cam = torch::relu((weights * acts).sum(1, /*keepdim=*/true)).detach();
  cam = torch::upsample_bilinear2d(cam, {ex.size, ex.size}, /*align_corners=*/false).squeeze();
  const float top = cam.max().item<float>();
  cam = top > 0 ? cam / top : cam;
  cam = cam.clamp(0, 1).contiguous();
  ex.heatmap.assign(cam.data_ptr<float>(), cam.data_ptr<float>() + cam.numel());

  ex.input = square;
  ex.overlay = Image{ex.size, ex.size, 3, std::vector<std::uint8_t>(static_cast<std::size_t>(ex.size) * ex.size * 3)};
  for (std::size_t p = 0; p < ex.heatmap.size(); ++p) {
    const std::uint8_t grey = square.channels == 1 ? square.pixels[p]
                                                   : static_cast<std::uint8_t>((square.pixels[p * 3] * 77 + square.pixels[p * 3 + 1] * 150 + square.pixels[p * 3 + 2] * 29) >> 8);
    std::uint8_t heat[3];
    colour(ex.heatmap[p], heat);
    const float alpha = 0.55f * ex.heatmap[p];  // weak evidence leaves the radiograph visible
    for (int c = 0; c < 3; ++c)
      ex.overlay.pixels[p * 3 + c] = static_cast<std::uint8_t>((1 - alpha) * grey + alpha * heat[c]);
  }
  ex.overlay_png = encode_png(ex.overlay);
  return ex;
}

}  // namespace xraykit
