// Decoding and resampling: formats, bad bytes, and the resampler's arithmetic.
#include <algorithm>
#include <doctest/doctest.h>

#include <numeric>

#include "support.hpp"
#include "xraykit/error.hpp"
#include "xraykit/image.hpp"

using namespace xraykit;
using namespace testsupport;

namespace {
double mean(const Image& img) {
  return std::accumulate(img.pixels.begin(), img.pixels.end(), 0.0) / img.pixels.size();
}
Image solid(int w, int h, int c, std::uint8_t v) {
  Image img{w, h, c, {}};
  img.pixels.assign(static_cast<std::size_t>(w) * h * c, v);
  return img;
}
}  // namespace

TEST_CASE("PNG 8-bit in every channel layout decodes to grey and to RGB") {
  TempDir dir;
  for (int c : {1, 2, 3, 4}) {
    CAPTURE(c);
    Image src = solid(5, 4, c, 0);
    for (std::size_t i = 0; i < src.pixels.size(); i += c) {
      src.pixels[i] = 200;                 // grey or red
      if (c >= 3) src.pixels[i + 1] = 200, src.pixels[i + 2] = 200;
      if (c == 2 || c == 4) src.pixels[i + c - 1] = 255;  // opaque alpha
    }
    write_png(dir / "a.png", src);
    const Image grey = load_image((dir / "a.png").string(), {1});
    CHECK(grey.width == 5);
    CHECK(grey.height == 4);
    CHECK(grey.channels == 1);
    CHECK(grey.pixels[0] == doctest::Approx(200).epsilon(0.02));
    const Image rgb = load_image((dir / "a.png").string(), {3});
    CHECK(rgb.channels == 3);
    CHECK(rgb.pixels.size() == 5u * 4 * 3);
    CHECK(rgb.pixels[1] == doctest::Approx(200).epsilon(0.02));
  }
}

TEST_CASE("16-bit PNG, grey and RGB, is reduced to 8 bits") {
  std::vector<std::uint16_t> grey(6 * 3, 0x8000);
  grey[0] = 0xFFFF;
  auto bytes = png16(6, 3, 0, grey);
  Image img = decode_image(bytes.data(), bytes.size());
  CHECK(img.width == 6);
  CHECK(img.height == 3);
  CHECK(img.pixels[0] == 255);
  CHECK(img.pixels[1] == 128);

  std::vector<std::uint16_t> rgb(2 * 2 * 3, 0);
  for (std::size_t i = 0; i < rgb.size(); i += 3) rgb[i + 1] = 0xFFFF;  // pure green
  bytes = png16(2, 2, 2, rgb);
  img = decode_image(bytes.data(), bytes.size(), {3});
  CHECK(img.pixels[0] == 0);
  CHECK(img.pixels[1] == 255);
  img = decode_image(bytes.data(), bytes.size(), {1});
  CHECK(img.pixels[0] > 100);  // luminance of green
  CHECK(img.pixels[0] < 200);
}

TEST_CASE("JPEG and BMP decode") {
  TempDir dir;
  const Image src = solid(32, 16, 3, 90);
  write_jpeg(dir / "a.jpg", src);
  write_bmp(dir / "a.bmp", src);
  for (const char* name : {"a.jpg", "a.bmp"}) {
    CAPTURE(name);
    const Image img = load_image((dir / name).string());
    CHECK(img.width == 32);
    CHECK(img.height == 16);
    CHECK(mean(img) == doctest::Approx(90).epsilon(0.03));
  }
}

TEST_CASE("JPEG decoding at reduced scale keeps at least min_side and the picture") {
  TempDir dir;
  Image src{400, 240, 1, std::vector<std::uint8_t>(400 * 240)};
  for (int y = 0; y < 240; ++y)
    for (int x = 0; x < 400; ++x) src.pixels[y * 400 + x] = static_cast<std::uint8_t>(x < 200 ? 40 : 200);
  write_jpeg(dir / "a.jpg", src, 95);
  const std::string path = (dir / "a.jpg").string();
  DecodeOptions o;
  o.min_side = 60;  // 1/4 scale (100 x 60) is the smallest that keeps both sides >= 60
  const Image quarter = load_image(path, o);
  CHECK(quarter.width == 100);
  CHECK(quarter.height == 60);
  CHECK(quarter.pixels[30 * 100 + 10] == doctest::Approx(40).epsilon(0.1));
  CHECK(quarter.pixels[30 * 100 + 90] == doctest::Approx(200).epsilon(0.05));
  o.min_side = 121;  // 1/2 would give 120 rows: full size
  CHECK(load_image(path, o).width == 400);
  o.min_side = 0;
  CHECK(load_image(path, o).width == 400);
  o.min_side = 10;
  o.channels = 3;
  const Image rgb = load_image(path, o);
  CHECK(rgb.width == 50);
  CHECK(rgb.channels == 3);
  // Truncated files are refused on the scaled path too.
  auto bytes = read_bytes(dir / "a.jpg");
  bytes.resize(bytes.size() / 2);
  CHECK_THROWS_AS(decode_image(bytes.data(), bytes.size(), o), ImageError);
  bytes = read_bytes(dir / "a.jpg");
  for (std::size_t i = bytes.size() / 3; i < bytes.size() / 2; ++i) bytes[i] = 0xFF;  // garbage inside, end intact
  CHECK_THROWS_AS(decode_image(bytes.data(), bytes.size(), o), ImageError);
}

TEST_CASE("bad bytes are refused with a reason, never a crash") {
  TempDir dir;
  write_jpeg(dir / "good.jpg", pattern_image(64, 64, 1));
  const auto good = read_bytes(dir / "good.jpg");

  SUBCASE("zero bytes") { CHECK_THROWS_WITH_AS(decode_image(good.data(), 0), "empty file (0 bytes)", ImageError); }
  SUBCASE("text") {
    const std::string text = "hello, this is not an image";
    CHECK_THROWS_WITH_AS(decode_image(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
                         "not a JPEG, PNG, BMP or DICOM image", ImageError);
  }
  SUBCASE("a JPEG whose Huffman table declares 4,080 codes (stb_image 2.27 wrote past its tables)") {
    std::vector<std::uint8_t> bad = good;
    const std::uint8_t dht[] = {0xFF, 0xC4};
    const auto at = std::search(bad.begin(), bad.end(), std::begin(dht), std::end(dht));
    REQUIRE(at + 21 < bad.end());
    std::fill(at + 5, at + 21, 0xFF);  // the 16 code counts after marker, length and class
    CHECK_THROWS_AS(decode_image(bad.data(), bad.size()), ImageError);
  }
  SUBCASE("a PNG that stb refuses without a reason (found by fuzzing: an exception of another type)") {
    const std::uint8_t png[] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
                                0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x10, 0x08, 0x00, 0x00, 0x00, 0x00, 0x33, 0x73, 0x00,
                                0xC7, 0x80, 0x00, 0x00, 0x14, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x64, 0xE0, 0xC5, 0x04,
                                0x4C, 0xEC, 0x58, 0xC0, 0xA8, 0x20, 0x31, 0x82, 0x00, 0x5C, 0x3B, 0x09, 0x4B, 0xEC, 0xD4, 0x98,
                                0x3B, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82};
    CHECK_THROWS_AS(decode_image(png, sizeof png), ImageError);
  }
  SUBCASE("truncated JPEG") {
    CHECK_THROWS_WITH_AS(decode_image(good.data(), good.size() / 2), doctest::Contains("truncated JPEG"), ImageError);
  }
  SUBCASE("JPEG magic followed by garbage") {
    std::vector<std::uint8_t> junk = {0xFF, 0xD8, 0xFF};
    for (int i = 0; i < 500; ++i) junk.push_back(static_cast<std::uint8_t>(i * 7919));
    junk.push_back(0xFF);
    junk.push_back(0xD9);
    CHECK_THROWS_AS(decode_image(junk.data(), junk.size()), ImageError);
  }
  SUBCASE("truncated PNG") {
    write_png(dir / "p.png", pattern_image(64, 64, 1));
    const auto png = read_bytes(dir / "p.png");
    CHECK_THROWS_AS(decode_image(png.data(), png.size() - 30), ImageError);
  }
  SUBCASE("truncated BMP") {
    write_bmp(dir / "b.bmp", pattern_image(64, 64, 3));
    const auto bmp = read_bytes(dir / "b.bmp");
    CHECK_THROWS_WITH_AS(decode_image(bmp.data(), bmp.size() - 100), doctest::Contains("truncated BMP"), ImageError);
  }
  SUBCASE("decompression bomb header: 60,000 x 60,000 refused before decoding") {
    const auto bomb = png_header_only(60000, 60000);
    CHECK_THROWS_WITH_AS(decode_image(bomb.data(), bomb.size()),
                         doctest::Contains("60000x60000 pixels, above the limit"), ImageError);
  }
  SUBCASE("a header of 0xFFFFFFFF x 0xFFFFFFFF cannot slip under the limit by overflow") {
    const auto bomb = png_header_only(0xFFFFFFFFu, 0xFFFFFFFFu);
    CHECK_THROWS_WITH_AS(decode_image(bomb.data(), bomb.size()), doctest::Contains("above the limit"), ImageError);
    const auto wide = png_header_only(0x80000000u, 2);
    CHECK_THROWS_WITH_AS(decode_image(wide.data(), wide.size()), doctest::Contains("above the limit"), ImageError);
  }
  SUBCASE("a BMP cut short is refused even when its size field is 0") {
    write_bmp(dir / "b.bmp", pattern_image(64, 64, 3));
    auto bmp = read_bytes(dir / "b.bmp");
    bmp[2] = bmp[3] = bmp[4] = bmp[5] = 0;  // writers may leave the size field empty
    CHECK_NOTHROW(decode_image(bmp.data(), bmp.size()));
    bmp.resize(bmp.size() - 1);
    CHECK_THROWS_WITH_AS(decode_image(bmp.data(), bmp.size()), doctest::Contains("truncated BMP"), ImageError);
  }
  SUBCASE("the pixel limit is configurable") {
    DecodeOptions small;
    small.max_pixels = 64 * 63;
    CHECK_THROWS_WITH_AS(decode_image(good.data(), good.size(), small), doctest::Contains("above the limit"), ImageError);
  }
  SUBCASE("missing file names the path") {
    CHECK_THROWS_WITH_AS(load_image((dir / "nope.png").string()), doctest::Contains("nope.png"), IoError);
  }
  SUBCASE("errors from load_image name the path") {
    write_bytes(dir / "bad.png", {1, 2, 3});
    CHECK_THROWS_WITH_AS(load_image((dir / "bad.png").string()), doctest::Contains("bad.png: not a JPEG"), ImageError);
  }
}

TEST_CASE("area resize averages exactly the covered pixels") {
  Image src{4, 2, 1, {0, 10, 20, 30, 40, 50, 60, 70}};
  const Image half = resize(src, 2, 1);
  CHECK(half.pixels == std::vector<std::uint8_t>{25, 45});  // (0+10+40+50)/4=25, (20+30+60+70)/4=45
  // Non-integer factor: 3 -> 2, the middle pixel is split between both outputs.
  Image row{3, 1, 1, {0, 90, 180}};
  const Image two = resize(row, 2, 1);
  CHECK(two.pixels == std::vector<std::uint8_t>{30, 150});  // (0*1 + 90*.5)/1.5, (90*.5+180)/1.5
}

TEST_CASE("shrinking a one-pixel checkerboard does not alias") {
  Image board{2000, 1500, 1, {}};
  board.pixels.resize(2000u * 1500);
  for (int y = 0; y < 1500; ++y)
    for (int x = 0; x < 2000; ++x) board.pixels[y * 2000u + x] = ((x + y) % 2) ? 255 : 0;
  const Image small = resize(board, 224, 224);
  for (std::uint8_t v : small.pixels) {
    CHECK(v >= 120);
    CHECK(v <= 135);
  }
}

TEST_CASE("enlarging is bilinear and keeps a constant image constant") {
  const Image up = resize(solid(3, 3, 3, 77), 10, 7);
  CHECK(up.width == 10);
  CHECK(up.height == 7);
  for (auto v : up.pixels) CHECK(v == 77);
  Image ramp{2, 1, 1, {0, 200}};
  const Image r = resize(ramp, 4, 1);
  CHECK(r.pixels == std::vector<std::uint8_t>{0, 50, 150, 200});
}

TEST_CASE("fit_square: squash stretches, pad letterboxes centred") {
  const Image wide = solid(200, 100, 1, 255);
  const Image squashed = fit_square(wide, 50, Geometry::Squash);
  CHECK(squashed.width == 50);
  CHECK(mean(squashed) == 255);
  const Image padded = fit_square(wide, 50, Geometry::Pad);
  CHECK(padded.width == 50);
  CHECK(padded.height == 50);
  CHECK(padded.pixels[0] == 0);            // top bar
  CHECK(padded.pixels[25 * 50 + 25] == 255);  // centre
  CHECK(padded.pixels[49 * 50 + 25] == 0);    // bottom bar
  CHECK(mean(padded) == doctest::Approx(127.5).epsilon(0.02));
}

TEST_CASE("PNG round trip through save_png") {
  TempDir dir;
  const Image img = pattern_image(17, 9, 3, 4);
  save_png(img, (dir / "x.png").string());
  const Image back = load_image((dir / "x.png").string(), {3});
  CHECK(back.pixels == img.pixels);
  CHECK_THROWS_AS(save_png(img, (dir / "no" / "such" / "x.png").string()), IoError);
}

TEST_CASE("errors about a file carry its path and the reason apart") {
  TempDir dir;
  const std::string bad = (dir / "bad.png").string();
  write_bytes(bad, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0});
  try {
    load_image(bad);
    FAIL("a broken PNG decoded");
  } catch (const ImageError& e) {
    CHECK(e.path() == bad);
    CHECK(e.reason().find(bad) == std::string::npos);
    CHECK(std::string(e.what()) == bad + ": " + e.reason());
  }
  const std::string missing = (dir / "none.jpeg").string();
  try {
    load_image(missing);
    FAIL("a missing file loaded");
  } catch (const IoError& e) {
    CHECK(e.path() == missing);
    CHECK(e.reason().rfind("cannot open", 0) == 0);
  }
  CHECK(ImageError("not about a file").path().empty());
  CHECK(ImageError("not about a file").reason() == "not about a file");
  CHECK(is_image_file("a/B.JPEG"));
  CHECK(is_image_file("x.png"));
  CHECK_FALSE(is_image_file("notes.txt"));
  CHECK_FALSE(is_image_file("jpeg"));
}
