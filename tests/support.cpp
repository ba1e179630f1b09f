#include "support.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>

namespace testsupport {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() /
          ("xraykit-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

xraykit::Image pattern_image(int w, int h, int c, int seed) {
  xraykit::Image img;
  img.width = w;
  img.height = h;
  img.channels = c;
  img.pixels.resize(static_cast<std::size_t>(w) * h * c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k)
        img.pixels[(static_cast<std::size_t>(y) * w + x) * c + k] =
            static_cast<std::uint8_t>((x * 3 + y * 5 + k * 40 + seed * 17) % 256);
  return img;
}

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

namespace {
void sink(void* ctx, void* data, int n) {
  auto* v = static_cast<std::vector<std::uint8_t>*>(ctx);
  v->insert(v->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + n);
}
}  // namespace

void write_png(const fs::path& path, const xraykit::Image& img) {
  std::vector<std::uint8_t> out;
  stbi_write_png_to_func(sink, &out, img.width, img.height, img.channels, img.data(), img.width * img.channels);
  write_bytes(path, out);
}

void write_jpeg(const fs::path& path, const xraykit::Image& img, int quality) {
  std::vector<std::uint8_t> out;
  stbi_write_jpg_to_func(sink, &out, img.width, img.height, img.channels, img.data(), quality);
  write_bytes(path, out);
}

void write_bmp(const fs::path& path, const xraykit::Image& img) {
  std::vector<std::uint8_t> out;
  stbi_write_bmp_to_func(sink, &out, img.width, img.height, img.channels, img.data());
  write_bytes(path, out);
}

namespace {

std::uint32_t crc32(const std::uint8_t* p, std::size_t n, std::uint32_t crc = 0) {
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void put32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<std::uint8_t>(x >> s));
}

void chunk(std::vector<std::uint8_t>& png, const char* type, const std::vector<std::uint8_t>& data) {
  put32(png, static_cast<std::uint32_t>(data.size()));
  std::vector<std::uint8_t> body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  png.insert(png.end(), body.begin(), body.end());
  put32(png, crc32(body.data(), body.size()));
}

std::vector<std::uint8_t> ihdr(std::uint32_t w, std::uint32_t h, int depth, int colour_type) {
  std::vector<std::uint8_t> d;
  put32(d, w);
  put32(d, h);
  d.push_back(static_cast<std::uint8_t>(depth));
  d.push_back(static_cast<std::uint8_t>(colour_type));
  d.push_back(0);
  d.push_back(0);
  d.push_back(0);
  return d;
}

const std::array<std::uint8_t, 8> kSignature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

}  // namespace

std::vector<std::uint8_t> png16(int w, int h, int colour_type, const std::vector<std::uint16_t>& samples) {
  const int per_pixel = colour_type == 2 ? 3 : 1;
  if (samples.size() != static_cast<std::size_t>(w) * h * per_pixel) throw std::invalid_argument("png16 size");
  std::vector<std::uint8_t> raw;  // filter byte 0 per row, big-endian samples
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);
    for (int i = 0; i < w * per_pixel; ++i) {
      const std::uint16_t s = samples[static_cast<std::size_t>(y) * w * per_pixel + i];
      raw.push_back(static_cast<std::uint8_t>(s >> 8));
      raw.push_back(static_cast<std::uint8_t>(s & 0xFF));
    }
  }
  // zlib stream with stored (uncompressed) deflate blocks.
  std::vector<std::uint8_t> z = {0x78, 0x01};
  for (std::size_t off = 0; off < raw.size() || off == 0;) {
    const std::size_t n = std::min<std::size_t>(65535, raw.size() - off);
    z.push_back(off + n >= raw.size() ? 1 : 0);
    z.push_back(n & 0xFF);
    z.push_back(n >> 8);
    z.push_back(~n & 0xFF);
    z.push_back((~n >> 8) & 0xFF);
    z.insert(z.end(), raw.begin() + off, raw.begin() + off + n);
    off += n;
    if (n == 0) break;
  }
  std::uint32_t a = 1, b = 0;
  for (std::uint8_t c : raw) a = (a + c) % 65521, b = (b + a) % 65521;
  put32(z, (b << 16) | a);

  std::vector<std::uint8_t> png(kSignature.begin(), kSignature.end());
  chunk(png, "IHDR", ihdr(w, h, 16, colour_type));
  chunk(png, "IDAT", z);
  chunk(png, "IEND", {});
  return png;
}

std::vector<std::uint8_t> png_header_only(std::uint32_t width, std::uint32_t height) {
  std::vector<std::uint8_t> png(kSignature.begin(), kSignature.end());
  chunk(png, "IHDR", ihdr(width, height, 8, 0));
  chunk(png, "IEND", {});
  return png;
}

std::string real_data_dir() {
  if (const char* env = std::getenv("XRAYKIT_DATA"); env && *env) return env;
  const fs::path beside = fs::path(XRAYKIT_SOURCE_DIR) / ".." / "shared" / "data" / "chest_xray" / "train";
  return fs::is_directory(beside) ? fs::canonical(beside).string() : "";
}

xraykit::ClassifierOptions tiny() {
  using namespace xraykit;
  ClassifierOptions o;
  o.image_size = 32;
  o.seed = 1;
  return o;
}

xraykit::Dataset blob_dataset(int n, std::uint64_t seed) {
  std::vector<xraykit::Image> imgs;
  std::vector<int> labels;
  std::vector<std::string> patients;
  Lcg rnd{seed};
  for (int i = 0; i < n; ++i) {
    xraykit::Image img{32, 32, 1, std::vector<std::uint8_t>(32 * 32)};
    for (auto& p : img.pixels) p = static_cast<std::uint8_t>(60 + rnd() % 40);
    const int label = i % 2;
    if (label) {
      const int cx = 6 + rnd() % 20, cy = 6 + rnd() % 20;
      for (int y = cy - 4; y <= cy + 4; ++y)
        for (int x = cx - 4; x <= cx + 4; ++x) img.pixels[y * 32 + x] = 230;
    }
    imgs.push_back(img);
    labels.push_back(label);
    patients.push_back("p" + std::to_string(i / 2));
  }
  xraykit::DatasetOptions o;
  o.image_size = 32;
  return xraykit::Dataset::from_images(imgs, labels, {"plain", "blob"}, patients, o);
}

xraykit::TrainOptions quick(int epochs) {
  using namespace xraykit;
  TrainOptions t;
  t.epochs = epochs;
  t.batch_size = 16;
  t.learning_rate = 2e-3;
  t.augment = "none";
  t.threads = 2;
  t.bootstrap = 50;
  t.warmup_epochs = 0.5;
  t.keep = Keep::Best;
  t.bf16 = false;
  return t;
}

}  // namespace testsupport
