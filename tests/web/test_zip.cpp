// The studio's zip reader against archives written here byte by byte, hostile ones included:
// names that climb out, links, lies about sizes, overlapping entries, bombs, damage.
#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support.hpp"
#include "xraykit/error.hpp"
#include "zip_archive.hpp"

using namespace xraykit;
using namespace xraykit::web;
using testsupport::TempDir;
namespace fs = std::filesystem;

namespace {

struct Item {
  std::string name, data;
  bool deflate = true;
  std::uint32_t mode = 0100644;    // unix file type and permissions
  std::uint16_t flags = 0;         // bit 0: encrypted
  std::int64_t declared_size = -1; // a lie about the uncompressed size, when >= 0
  bool bad_crc = false;
};

void put16(std::string& s, std::uint32_t v) { s += char(v & 0xff), s += char(v >> 8 & 0xff); }
void put32(std::string& s, std::uint32_t v) { put16(s, v & 0xffff), put16(s, v >> 16); }

std::string deflated(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A zip of `items`; `alias` adds a second central entry for the first item's local data.
std::string make_zip(const std::vector<Item>& items, bool alias = false) {
  std::string zip, central;
  std::uint32_t count = 0;
  auto add_central = [&](const Item& it, std::uint32_t crc, std::uint32_t packed, std::uint32_t offset) {
    put32(central, 0x02014b50);
    put16(central, 3 << 8 | 20);  // made by unix
    put16(central, 20);
    put16(central, it.flags);
    put16(central, it.deflate ? 8 : 0);
    put32(central, 0);
    put32(central, crc);
    put32(central, packed);
    put32(central, it.declared_size >= 0 ? std::uint32_t(it.declared_size) : std::uint32_t(it.data.size()));
    put16(central, std::uint32_t(it.name.size()));
    put32(central, 0);  // extra and comment lengths
    put32(central, 0);  // disk, internal attributes
    put32(central, it.mode << 16);
    put32(central, offset);
    central += it.name;
    ++count;
  };
  for (const Item& it : items) {
    const std::string body = it.deflate ? deflated(it.data) : it.data;
    std::uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(it.data.data()), uInt(it.data.size()));
    if (it.bad_crc) crc ^= 1;
    const std::uint32_t offset = std::uint32_t(zip.size());
    put32(zip, 0x04034b50);
    put16(zip, 20);
    put16(zip, it.flags);
    put16(zip, it.deflate ? 8 : 0);
    put32(zip, 0);
    put32(zip, crc);
    put32(zip, std::uint32_t(body.size()));
    put32(zip, std::uint32_t(it.data.size()));
    put16(zip, std::uint32_t(it.name.size()));
    put16(zip, 0);
    zip += it.name + body;
    add_central(it, crc, std::uint32_t(body.size()), offset);
    if (alias && count == 1) {
      Item twin = it;
      twin.name = "twin-" + it.name;
      add_central(twin, crc, std::uint32_t(body.size()), offset);
    }
  }
  const std::uint32_t cd_offset = std::uint32_t(zip.size());
  zip += central;
  put32(zip, 0x06054b50);
  put32(zip, 0);
  put16(zip, count);
  put16(zip, count);
  put32(zip, std::uint32_t(central.size()));
  put32(zip, cd_offset);
  put16(zip, 0);
  return zip;
}

fs::path write(const TempDir& dir, const std::string& bytes, const char* name = "upload.zip") {
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

bool images_only(const std::string& path) { return fs::path(path).extension() == ".png"; }

ZipExtraction extract(const TempDir& dir, const std::string& zip, ZipLimits limits = {}) {
  return extract_zip(write(dir, zip).string(), (dir / "out").string(), limits, images_only);
}

}  // namespace

TEST_CASE("zip entry names become safe relative paths or are refused") {
  std::string why;
  CHECK(safe_entry_path("NORMAL/a.png", &why) == "NORMAL/a.png");
  CHECK(safe_entry_path("data\\NORMAL\\a.png", &why) == "data/NORMAL/a.png");
  CHECK(safe_entry_path("./x//y/./z.png", &why) == "x/y/z.png");
  for (const char* bad : {"../a.png", "a/../../b.png", "/etc/passwd", "\\\\server\\share\\a.png", "C:\\a.png",
                          "c:x.png", "", "./", "a/\x01.png"}) {
    why.clear();
    CHECK_MESSAGE(safe_entry_path(bad, &why).empty(), bad);
    CHECK_MESSAGE(!why.empty(), bad);
  }
  CHECK(safe_entry_path(std::string(300, 'a') + ".png", &why).empty());
  std::string deep;
  for (int i = 0; i < 17; ++i) deep += "d/";
  CHECK(safe_entry_path(deep + "a.png", &why).empty());
  CHECK(why.find("16") != std::string::npos);
}

TEST_CASE("a zip of class folders unpacks: stored and deflated, other files listed as skipped") {
  TempDir dir;
  const std::string png(5000, 'x');
  const auto x = extract(dir, make_zip({{"NORMAL/", ""}, {"NORMAL/a.png", png, false}, {"PNEUMONIA/b.png", png + "y"},
                                        {"readme.txt", "hello"}}));
  CHECK(x.files == 2);
  CHECK(x.bytes == 2 * png.size() + 1);
  CHECK(slurp(dir / "out" / "NORMAL" / "a.png") == png);
  CHECK(slurp(dir / "out" / "PNEUMONIA" / "b.png") == png + "y");
  REQUIRE(x.skipped.size() == 1);
  CHECK(x.skipped[0].first == "readme.txt");
  CHECK(x.skipped[0].second.find("not an image") != std::string::npos);
}

TEST_CASE("entries that climb out, links and encrypted entries are skipped, never written") {
  TempDir dir;
  Item link{"NORMAL/link.png", "/etc/passwd"};
  link.mode = 0120777;
  Item secret{"NORMAL/secret.png", "data"};
  secret.flags = 1;
  const auto x = extract(dir, make_zip({{"../evil.png", "e"}, {"/tmp/abs.png", "a"}, {"NORMAL/../../up.png", "u"},
                                        link, secret, {"NORMAL/ok.png", "fine"}}));
  CHECK(x.files == 1);
  CHECK(x.skipped.size() == 5);
  CHECK_FALSE(fs::exists(dir / "evil.png"));
  CHECK_FALSE(fs::exists(dir.path().parent_path() / "up.png"));
  CHECK_FALSE(fs::exists(dir / "out" / "NORMAL" / "link.png"));
  CHECK_FALSE(fs::is_symlink(dir / "out" / "NORMAL" / "link.png"));
  std::string reasons;
  for (const auto& [name, reason] : x.skipped) reasons += name + ": " + reason + "\n";
  CHECK(reasons.find("symbolic link") != std::string::npos);
  CHECK(reasons.find("encrypted") != std::string::npos);
  CHECK(reasons.find("goes up") != std::string::npos);
  CHECK(reasons.find("absolute") != std::string::npos);
}

TEST_CASE("zip bombs are refused before anything is inflated") {
  TempDir dir;
  SUBCASE("a file bigger than the limit per file") {
    ZipLimits limits;
    limits.max_entry_bytes = 1 << 20;
    CHECK_THROWS_WITH_AS(extract(dir, make_zip({{"a.png", std::string(2 << 20, '\0')}}), limits),
                         doctest::Contains("limit per file"), InvalidArgument);
  }
  SUBCASE("all files together bigger than the total limit") {
    ZipLimits limits;
    limits.max_total_bytes = 3000;
    CHECK_THROWS_WITH_AS(extract(dir, make_zip({{"a.png", std::string(2000, 'a')}, {"b.png", std::string(2000, 'b')}}), limits),
                         doctest::Contains("unpacks to 4000 bytes"), InvalidArgument);
  }
  SUBCASE("a declared size no deflate stream could reach") {
    Item lie{"a.png", "small"};
    lie.declared_size = 100'000'000;
    CHECK_THROWS_WITH_AS(extract(dir, make_zip({lie})), doctest::Contains("zip bomb"), InvalidArgument);
    CHECK_FALSE(fs::exists(dir / "out"));
  }
  SUBCASE("data that inflates beyond its declared size stops there") {
    Item lie{"a.png", std::string(1 << 20, 'z')};
    lie.declared_size = 2000;
    CHECK_THROWS_WITH_AS(extract(dir, make_zip({lie})), doctest::Contains("does not inflate to its declared"), InvalidArgument);
  }
  SUBCASE("compressed data far longer than the data it holds") {
    std::string noise(100'000, '\0');
    for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = char((i * 2654435761u) >> 13);
    Item lie{"a.png", noise};
    lie.declared_size = 10;
    CHECK_THROWS_WITH_AS(extract(dir, make_zip({lie})), doctest::Contains("compressed bytes for 10 bytes"), InvalidArgument);
    CHECK_FALSE(fs::exists(dir / "out"));
  }
  SUBCASE("two entries sharing one entry's data (overlapping entries)") {
    CHECK_THROWS_WITH_AS(extract(dir, make_zip({{"a.png", std::string(3000, 'q')}}, true)), doctest::Contains("overlap"),
                         InvalidArgument);
    CHECK_FALSE(fs::exists(dir / "out"));  // refused before the folder was made
  }
}

TEST_CASE("damaged zips are refused with the reason") {
  TempDir dir;
  const std::string good = make_zip({{"a.png", std::string(4000, 'a')}, {"b.png", "b"}});
  CHECK_THROWS_WITH_AS(extract(dir, ""), doctest::Contains("too short"), InvalidArgument);
  CHECK_THROWS_WITH_AS(extract(dir, std::string(5000, 'P')), doctest::Contains("not a zip file"), InvalidArgument);
  CHECK_THROWS_WITH_AS(extract(dir, good.substr(0, good.size() - 30)), doctest::Contains("not a zip file"), InvalidArgument);
  CHECK_THROWS_WITH_AS(extract(dir, good.substr(40)), doctest::Contains("damaged"), InvalidArgument);
  Item bad_crc{"a.png", std::string(100, 'c')};
  bad_crc.bad_crc = true;
  CHECK_THROWS_WITH_AS(extract(dir, make_zip({bad_crc})), doctest::Contains("CRC"), InvalidArgument);
  std::string zip64 = good;
  zip64.replace(zip64.size() - 10, 4, "\xff\xff\xff\xff");  // central directory size: ZIP64's marker
  CHECK_THROWS_WITH_AS(extract(dir, zip64), doctest::Contains("ZIP64"), InvalidArgument);
}

TEST_CASE("a second entry with the same name is skipped, and the target folder must be new") {
  TempDir dir;
  const auto x = extract(dir, make_zip({{"a.png", "first"}, {"a.png", "second"}}));
  CHECK(x.files == 1);
  CHECK(slurp(dir / "out" / "a.png") == "first");
  REQUIRE(x.skipped.size() == 1);
  CHECK(x.skipped[0].second.find("second entry") != std::string::npos);
  CHECK_THROWS_AS(extract(dir, make_zip({{"b.png", "b"}})), IoError);  // dir/out exists now
}
