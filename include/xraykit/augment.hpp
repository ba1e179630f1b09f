#pragma once
// Augmenter: seeded, composable image augmentations on the cached uint8 images.
//
// What it is for: making training images vary the way real radiographs do (position, zoom,
// small rotations, exposure, noise) so the network learns the lungs, not the framing.
// Determinism: apply() is a pure function of (image, seed). Training derives one seed per
// sample and epoch, so the same seed gives the same images whatever the number of threads.
// Thread safety: an Augmenter is immutable after construction; apply() may be called from
// any number of threads at once.
// Errors: InvalidArgument naming the bad token for a malformed spec.
//
// Text spec (what the CLI, web, C and Python layers pass): a preset name (none, light,
// medium, robust — the default for training —, strong), or comma-separated tokens,
// optionally after a preset:
//   rotate=DEG            rotation, uniform in [-DEG, DEG]
//   scale=LO:HI           zoom factor (random-resized-crop style; > 1 zooms in)
//   aspect=LO:HI          width:height stretch, log-uniform (radiographs of other shapes
//                         squashed to a square; random-resized-crop's ratio)
//   translate=F           shift up to F x size in each direction
//   brightness=F          add uniform [-F, F] (fraction of full scale)
//   contrast=F            multiply contrast by uniform [1-F, 1+F] around the image mean
//   gamma=LO:HI           gamma, log-uniform in [LO, HI]
//   noise=S               Gaussian noise, std S (fraction of full scale)
//   blur=S                Gaussian blur of half the images, sigma uniform in [0, S] pixels
//                         (of the input size): films and detectors differ in sharpness
//   erase=P               with probability P, erase one random rectangle (cutout)
//   hflip=P               mirror left-right with probability P. Off in every preset: the
//                         heart sits on the left, and chest anatomy is not symmetric.
// Example: "medium,noise=0.02" or "rotate=10,scale=0.9:1.1,translate=0.05,contrast=0.2".
#include <cstdint>
#include <string>

#include "xraykit/export.hpp"
#include "xraykit/image.hpp"

namespace xraykit {

class Dataset;

struct AugmentSpec {
  double rotate = 0;
  double scale_lo = 1, scale_hi = 1;
  double translate = 0;
  double brightness = 0;
  double contrast = 0;
  double gamma_lo = 1, gamma_hi = 1;
  double noise = 0;
  double erase = 0;
  double hflip = 0;
  double aspect_lo = 1, aspect_hi = 1;
  double blur = 0;
};

/// One concrete draw of the augmentations: exactly what happens to one image. Augmenter
/// draws these at random; the shift benchmark builds fixed ones. Fractions are of the image
/// size (geometry) or of full scale (intensity).
struct Transform {
  double rotate_degrees = 0;
  double zoom = 1;     ///< > 1 zooms in
  double aspect = 1;   ///< > 1 stretches horizontally
  double dx = 0, dy = 0;
  bool flip = false;
  double brightness = 0;  ///< added
  double contrast = 1;    ///< multiplies the distance from the image mean
  double gamma = 1;
  double blur = 0;        ///< Gaussian blur sigma in pixels, after the geometry, before intensity
  double noise = 0;       ///< Gaussian std
  std::uint64_t noise_seed = 0;
  bool erase = false;
  double erase_x = 0, erase_y = 0, erase_w = 0, erase_h = 0;
};

/// Applies one transform to a size x size x channels HWC image from src into out (no
/// aliasing). Geometry is one inverse affine map sampled bilinearly with edge clamping.
XRAYKIT_API void apply_transform(const std::uint8_t* src, int size, int channels, const Transform& t,
                                 std::uint8_t* out);

class XRAYKIT_API Augmenter {
 public:
  /// A preset name or a spec as described above.
  explicit Augmenter(const std::string& spec = "none");
  explicit Augmenter(const AugmentSpec& spec);

  const AugmentSpec& spec() const { return spec_; }
  /// Canonical spec text; parsing it gives the same Augmenter.
  std::string to_string() const;
  bool is_identity() const;

  /// The transform that apply() uses for this seed.
  Transform draw(std::uint64_t seed) const;
  /// Augments a size x size x channels HWC image from src into out (no aliasing allowed).
  void apply(const std::uint8_t* src, int size, int channels, std::uint64_t seed, std::uint8_t* out) const;
  Image apply(const Image& square, std::uint64_t seed) const;

  /// A grid with one row per sample (the first `rows` samples of data): the original,
  /// then `cols` augmented copies. For a person to look at what a spec does.
  Image contact_sheet(const Dataset& data, int rows, int cols, std::uint64_t seed) const;

 private:
  AugmentSpec spec_;
};

/// Parses a spec; InvalidArgument naming the offending token.
XRAYKIT_API AugmentSpec parse_augment_spec(const std::string& text);

}  // namespace xraykit
