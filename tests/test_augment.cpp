// Augmenter: spec parsing, presets, determinism, and a contact sheet for people to look at.
#include <doctest/doctest.h>

#include <numeric>

#include "support.hpp"
#include "xraykit/augment.hpp"
#include "xraykit/dataset.hpp"
#include "xraykit/error.hpp"

using namespace xraykit;
using namespace testsupport;

TEST_CASE("spec text: presets, tokens, canonical form") {
  CHECK(Augmenter("none").is_identity());
  CHECK(Augmenter("light").spec().rotate == 5);
  CHECK(Augmenter("medium").spec().gamma_lo == doctest::Approx(0.85));
  CHECK(Augmenter("strong").spec().erase == doctest::Approx(0.3));
  for (const char* p : {"light", "medium", "strong"}) CHECK(Augmenter(p).spec().hflip == 0);  // anatomy is not symmetric
  const Augmenter a("rotate=10,scale=0.9:1.1,translate=0.05,contrast=0.2,gamma=0.8:1.25");
  CHECK(a.spec().scale_lo == doctest::Approx(0.9));
  CHECK(a.spec().gamma_hi == doctest::Approx(1.25));
  CHECK(Augmenter(a.to_string()).to_string() == a.to_string());
  const Augmenter combined("medium,noise=0.02,hflip=0.5");
  CHECK(combined.spec().noise == doctest::Approx(0.02));
  CHECK(combined.spec().hflip == doctest::Approx(0.5));
  CHECK(combined.spec().rotate == 10);
}

TEST_CASE("bad specs name the bad token") {
  CHECK_THROWS_WITH_AS(Augmenter("rotate=10,wobble=3"), doctest::Contains("'wobble=3'"), InvalidArgument);
  CHECK_THROWS_WITH_AS(Augmenter("rotate=abc"), doctest::Contains("'rotate=abc'"), InvalidArgument);
  CHECK_THROWS_WITH_AS(Augmenter("scale=1.2:0.8"), doctest::Contains("'scale=1.2:0.8'"), InvalidArgument);
  CHECK_THROWS_WITH_AS(Augmenter("scale=0.9"), doctest::Contains("expected LO:HI"), InvalidArgument);
  CHECK_THROWS_WITH_AS(Augmenter("extreme"), doctest::Contains("'extreme'"), InvalidArgument);
  CHECK_THROWS_WITH_AS(Augmenter("noise=2"), doctest::Contains("must be in [0, 1]"), InvalidArgument);
  CHECK_THROWS_AS(Augmenter(""), InvalidArgument);
  CHECK_THROWS_AS(Augmenter("light,,medium"), InvalidArgument);
}

TEST_CASE("same seed gives the same image and another seed another image") {
  const Image img = pattern_image(48, 48, 1, 2);
  const Augmenter a("strong");
  const Image x = a.apply(img, 7), y = a.apply(img, 7), z = a.apply(img, 8);
  CHECK(x.pixels == y.pixels);
  CHECK(x.pixels != z.pixels);
  CHECK(x.pixels != img.pixels);
  CHECK(Augmenter("none").apply(img, 7).pixels == img.pixels);
  CHECK_THROWS_AS(a.apply(pattern_image(10, 12, 1), 1), InvalidArgument);
}

TEST_CASE("operations do what they say") {
  Image flat{32, 32, 1, std::vector<std::uint8_t>(32 * 32, 100)};
  auto mean = [](const Image& i) { return std::accumulate(i.pixels.begin(), i.pixels.end(), 0.0) / i.pixels.size(); };
  // Brightness shifts a flat image by at most 0.2 * 255.
  for (int s = 0; s < 10; ++s) CHECK(std::abs(mean(Augmenter("brightness=0.2").apply(flat, s)) - 100) <= 51.5);
  // Geometry alone leaves a flat image flat.
  CHECK(mean(Augmenter("rotate=30,scale=0.8:1.2,translate=0.1").apply(flat, 3)) == doctest::Approx(100));
  // A certain flip mirrors the columns.
  Image ramp{4, 4, 1, {}};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) ramp.pixels.push_back(static_cast<std::uint8_t>(x * 50));
  const Image flipped = Augmenter("hflip=1").apply(ramp, 1);
  CHECK(flipped.pixels[0] == 150);
  CHECK(flipped.pixels[3] == 0);
}

TEST_CASE("blur softens about half the images and keeps the others sharp") {
  CHECK(Augmenter("robust,blur=2").spec().blur == doctest::Approx(2));
  CHECK(Augmenter(Augmenter("blur=1.5").to_string()).spec().blur == doctest::Approx(1.5));
  CHECK_THROWS_WITH_AS(Augmenter("blur=11"), doctest::Contains("'blur=11'"), InvalidArgument);
  Image dots{32, 32, 1, std::vector<std::uint8_t>(32 * 32, 0)};
  for (std::size_t i = 0; i < dots.pixels.size(); i += 5) dots.pixels[i] = 255;
  auto edges = [](const Image& i) {
    double sum = 0;
    for (std::size_t k = 1; k < i.pixels.size(); ++k) sum += std::abs(int(i.pixels[k]) - int(i.pixels[k - 1]));
    return sum;
  };
  const Augmenter blur("blur=3");
  int softened = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const Transform t = blur.draw(seed);
    CHECK(t.blur >= 0);
    CHECK(t.blur <= 3);
    const Image out = blur.apply(dots, seed);
    if (t.blur == 0) CHECK(out.pixels == dots.pixels);
    if (t.blur > 0.5) CHECK(edges(out) < 0.8 * edges(dots));
    softened += t.blur > 0;
  }
  CHECK(softened > 10);
  CHECK(softened < 30);
  // Adding blur leaves the other operations' draws as they were.
  CHECK(Augmenter("robust,blur=2").draw(5).zoom == Augmenter("robust").draw(5).zoom);
}

TEST_CASE("contact sheet of the presets (written for people to look at)") {
  std::vector<Image> imgs;
  for (int i = 0; i < 3; ++i) {
    Image img = pattern_image(64, 64, 1, i);
    for (int y = 20; y < 44; ++y)
      for (int x = 10 + i * 10; x < 30 + i * 10; ++x) img.pixels[y * 64 + x] = 255;
    imgs.push_back(img);
  }
  DatasetOptions o;
  o.image_size = 64;
  const Dataset d = Dataset::from_images(imgs, {0, 1, 0}, {"a", "b"}, {}, o);
  for (const char* preset : {"light", "medium", "strong"}) {
    const Image sheet = Augmenter(preset).contact_sheet(d, 3, 5, 1);
    CHECK(sheet.width == 6 * 68 + 4);
    CHECK(sheet.height == 3 * 68 + 4);
    save_png(sheet, std::string("augment-") + preset + ".png");  // in the test's working folder
  }
}

namespace {

// Columns of a square image whose pixel in the middle row is bright.
int bright_columns(const Image& img) {
  int n = 0;
  for (int x = 0; x < img.width; ++x) n += img.pixels[(img.height / 2) * img.width + x] > 128;
  return n;
}

Image bar(int size, int half_width) {
  Image img{size, size, 1, std::vector<std::uint8_t>(static_cast<std::size_t>(size) * size, 0)};
  for (int y = 0; y < size; ++y)
    for (int x = size / 2 - half_width; x < size / 2 + half_width; ++x) img.pixels[y * size + x] = 255;
  return img;
}

}  // namespace

TEST_CASE("aspect stretches width against height") {
  const Image img = bar(64, 8);  // 16 columns wide
  CHECK(bright_columns(img) == 16);
  CHECK(Augmenter("aspect=1.44:1.44").spec().aspect_lo == doctest::Approx(1.44));
  // Width x sqrt(1.44) = 1.2: 16 columns become about 19.
  const int wide = bright_columns(Augmenter("aspect=1.44:1.44").apply(img, 1));
  const int narrow = bright_columns(Augmenter("aspect=0.69:0.69").apply(img, 1));
  CHECK(wide >= 18);
  CHECK(wide <= 21);
  CHECK(narrow >= 12);
  CHECK(narrow <= 14);
  CHECK(Augmenter(Augmenter("light,aspect=0.8:1.25").to_string()).spec().aspect_hi == doctest::Approx(1.25));
  CHECK_THROWS_WITH_AS(Augmenter("aspect=2"), doctest::Contains("expected LO:HI"), InvalidArgument);
  // A transform drawn by the Augmenter is what apply() applies.
  const Augmenter strong("strong,aspect=0.8:1.25");
  const Image pattern = pattern_image(40, 40, 1, 3);
  Image by_hand = pattern;
  apply_transform(pattern.data(), 40, 1, strong.draw(11), by_hand.data());
  CHECK(by_hand.pixels == strong.apply(pattern, 11).pixels);
}
