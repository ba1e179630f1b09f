// A bounded zip reader (PKWARE APPNOTE 6.3: end record, central directory, local headers,
// stored and deflated data) for the studio's uploads. See zip_archive.hpp for what it refuses.
#include "zip_archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "xraykit/error.hpp"

namespace fs = std::filesystem;

namespace xraykit::web {
namespace {

constexpr std::uint32_t kEndSignature = 0x06054b50, kCentralSignature = 0x02014b50, kLocalSignature = 0x04034b50;
constexpr std::size_t kEndSize = 22, kCentralSize = 46, kLocalSize = 30;
constexpr std::uint64_t kMaxDirectoryBytes = 64ull << 20;

std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
std::uint32_t u32(const std::uint8_t* p) { return u16(p) | static_cast<std::uint32_t>(u16(p + 2)) << 16; }

InvalidArgument damaged(const std::string& what) { return InvalidArgument("damaged zip file: " + what); }

class File {
 public:
  explicit File(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    struct stat st {};
    if (fd_ < 0 || ::fstat(fd_, &st) != 0) throw IoError(fmt::format("{}: cannot read ({})", path, std::strerror(errno)));
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ~File() { ::close(fd_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  std::uint64_t size() const { return size_; }

  // Exactly [offset, offset + n) of the file: the range is checked before the buffer exists.
  std::vector<std::uint8_t> read(std::uint64_t offset, std::uint64_t n) const {
    if (offset > size_ || n > size_ - offset) throw damaged("a record points past the end of the file");
    std::vector<std::uint8_t> buf(n);
    for (std::uint64_t done = 0; done < n;) {
      const ssize_t got = ::pread(fd_, buf.data() + done, n - done, static_cast<off_t>(offset + done));
      if (got <= 0) throw IoError(fmt::format("cannot read the uploaded zip ({})", got < 0 ? std::strerror(errno) : "short"));
      done += static_cast<std::uint64_t>(got);
    }
    return buf;
  }

 private:
  int fd_;
  std::uint64_t size_ = 0;
};

struct Entry {
  std::string name;
  std::uint16_t made_by = 0, flags = 0, method = 0;
  std::uint32_t crc = 0, external = 0;
  std::uint64_t compressed = 0, size = 0, local = 0, data = 0;
};

struct Directory {
  std::vector<Entry> entries;
  std::uint64_t start = 0;  // where the central directory begins: every entry's data lies before it
};

Directory read_directory(const File& f, const ZipLimits& limits) {
  if (f.size() < kEndSize) throw InvalidArgument("not a zip file (too short)");
  const std::uint64_t tail = std::min<std::uint64_t>(f.size(), kEndSize + 0xFFFF);
  const auto buf = f.read(f.size() - tail, tail);
  std::optional<std::size_t> end;
  for (std::size_t i = tail - kEndSize + 1; i-- > 0;) {
    if (u32(&buf[i]) == kEndSignature && i + kEndSize + u16(&buf[i + 20]) == tail) {
      end = i;
      break;
    }
  }
  if (!end) throw InvalidArgument("not a zip file (no end-of-central-directory record)");
  const std::uint8_t* e = &buf[*end];
  const std::uint32_t count = u16(e + 10), cd_size = u32(e + 12), cd_offset = u32(e + 16);
  if (u16(e + 4) != 0 || u16(e + 6) != 0 || u16(e + 8) != count)
    throw InvalidArgument("multi-disk (split) zip archives are not supported");
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF)
    throw InvalidArgument("ZIP64 archives are not supported: zip fewer than 65,535 files of under 4 GiB each");
  if (count > limits.max_entries) throw InvalidArgument(fmt::format("the zip holds {} entries; the limit is {}", count, limits.max_entries));
  const std::uint64_t end_offset = f.size() - tail + *end;
  if (std::uint64_t{cd_offset} + cd_size > end_offset) throw damaged("the central directory lies outside the file");
  // The directory is read whole: 100,000 entries with ordinary names take about 10 MiB.
  if (cd_size > kMaxDirectoryBytes) throw InvalidArgument("the zip's directory is over 64 MiB (names or extra fields too long)");

  Directory dir;
  dir.start = cd_offset;
  const auto cd = f.read(cd_offset, cd_size);
  std::size_t pos = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (cd.size() - pos < kCentralSize || u32(&cd[pos]) != kCentralSignature) throw damaged("a central directory entry is cut short");
    const std::uint8_t* c = &cd[pos];
    const std::size_t name_len = u16(c + 28), extra_len = u16(c + 30), comment_len = u16(c + 32);
    if (cd.size() - pos - kCentralSize < name_len + extra_len + comment_len) throw damaged("an entry's name runs past the directory");
    Entry en;
    en.made_by = u16(c + 4);
    en.flags = u16(c + 8);
    en.method = u16(c + 10);
    en.crc = u32(c + 16);
    en.compressed = u32(c + 20);
    en.size = u32(c + 24);
    en.external = u32(c + 38);
    en.local = u32(c + 42);
    en.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);
    dir.entries.push_back(std::move(en));
    pos += kCentralSize + name_len + extra_len + comment_len;
  }
  return dir;
}

// Where each entry's data is, from its local header; entries may not share bytes, and data
// lies before the central directory.
void locate_data(const File& f, Directory& dir) {
  for (Entry& en : dir.entries) {
    const auto local = f.read(en.local, kLocalSize);
    if (u32(local.data()) != kLocalSignature) throw damaged("an entry's local header is missing");
    en.data = en.local + kLocalSize + u16(&local[26]) + u16(&local[28]);
    if (en.data > dir.start || en.compressed > dir.start - en.data) throw damaged("an entry's data overlaps the directory");
  }
  std::vector<const Entry*> order;
  for (const Entry& en : dir.entries) order.push_back(&en);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) { return a->local < b->local; });
  for (std::size_t i = 1; i < order.size(); ++i)
    if (order[i - 1]->data + order[i - 1]->compressed > order[i]->local)
      throw InvalidArgument("zip entries overlap (a zip bomb's trick): refused");
}

void check_sizes(const Directory& dir, const ZipLimits& limits) {
  std::uint64_t total = 0;
  for (const Entry& en : dir.entries) {
    if (en.size > limits.max_entry_bytes)
      throw InvalidArgument(fmt::format("{}: {} bytes uncompressed; the limit per file is {}", en.name, en.size, limits.max_entry_bytes));
    if (en.size > 0 && (en.compressed == 0 || en.size / en.compressed > limits.max_ratio))
      throw InvalidArgument(fmt::format("{}: compressed more than {}:1 (a zip bomb?): refused", en.name, limits.max_ratio));
    // Deflate adds at most 5 bytes per 16 KiB block to data it cannot compress: anything
    // longer is not what its header says (and would be read into memory whole).
    if (en.compressed > en.size + en.size / 1024 + 1024)
      throw damaged(fmt::format("{}: {} compressed bytes for {} bytes of data", en.name, en.compressed, en.size));
    total += en.size;
  }
  if (total > limits.max_total_bytes)
    throw InvalidArgument(fmt::format("the zip unpacks to {} bytes; the limit is {}", total, limits.max_total_bytes));
}

// The entry's bytes, inflated into exactly the declared size and checked by CRC.
std::vector<std::uint8_t> contents(const File& f, const Entry& en) {
  std::vector<std::uint8_t> packed = f.read(en.data, en.compressed);
  if (en.method == 0) {
    if (en.compressed != en.size) throw damaged(en.name + ": stored sizes disagree");
  } else {
    std::vector<std::uint8_t> out(en.size + 1);  // one spare byte shows an entry longer than declared
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw IoError("zlib cannot start");
    z.next_in = packed.data();
    z.avail_in = static_cast<uInt>(packed.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&z, Z_FINISH);
    const std::uint64_t produced = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END || produced != en.size)
      throw damaged(fmt::format("{}: the data does not inflate to its declared {} bytes", en.name, en.size));
    out.resize(en.size);
    packed.swap(out);
  }
  if (crc32(0L, packed.data(), static_cast<uInt>(packed.size())) != en.crc) throw damaged(en.name + ": CRC mismatch");
  return packed;
}

// Why an entry is not extracted, or empty.
std::string refusal(const Entry& en) {
  if (en.flags & 1) return "encrypted";
  const bool unix_attrs = en.made_by >> 8 == 3;
  const std::uint32_t type = (en.external >> 16) & 0170000;
  if (unix_attrs && type == 0120000) return "a symbolic link (never extracted)";
  if (unix_attrs && type != 0 && type != 0100000) return "not a regular file";
  if (en.method != 0 && en.method != 8) return fmt::format("compression method {} (only stored and deflated are read)", en.method);
  return {};
}

void write_new_file(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) throw IoError(fmt::format("{}: cannot create ({})", path.string(), std::strerror(errno)));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      throw IoError(fmt::format("{}: cannot write ({})", path.string(), std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) throw IoError(fmt::format("{}: cannot write ({})", path.string(), std::strerror(errno)));
}

}  // namespace

std::string safe_entry_path(const std::string& name, std::string* why) {
  auto refuse = [&](const char* reason) {
    if (why) *why = reason;
    return std::string();
  };
  if (name.empty() || name.size() > 1024) return refuse("an empty or overlong name");
  std::string n = name;
  std::replace(n.begin(), n.end(), '\\', '/');
  if (n[0] == '/') return refuse("an absolute path");
  if (n.size() >= 2 && n[1] == ':') return refuse("a drive letter");
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= n.size()) {
    const std::size_t slash = std::min(n.find('/', start), n.size());
    const std::string part = n.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return refuse("a path that goes up (..)");
    if (part.size() > 255) return refuse("a name part over 255 bytes");
    for (unsigned char ch : part)
      if (ch < 0x20 || ch == 0x7f) return refuse("control characters in the name");
    parts.push_back(part);
  }
  if (parts.empty()) return refuse("an empty name");
  if (parts.size() > 16) return refuse("folders nested deeper than 16");
  std::string out = parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i) out += "/" + parts[i];
  return out;
}

ZipExtraction extract_zip(const std::string& zip_path, const std::string& dir, const ZipLimits& limits,
                          const std::function<bool(const std::string& path)>& keep) {
  const File f(zip_path);
  Directory d = read_directory(f, limits);
  locate_data(f, d);
  check_sizes(d, limits);
  if (!fs::create_directory(dir)) throw IoError(fmt::format("{}: already exists", dir));
  ZipExtraction out;
  for (const Entry& en : d.entries) {
    if (!en.name.empty() && (en.name.back() == '/' || en.name.back() == '\\')) continue;  // folders come with their files
    std::string why = refusal(en);
    const std::string path = why.empty() ? safe_entry_path(en.name, &why) : "";
    if (why.empty() && !keep(path)) why = "not an image or a CSV manifest";
    if (!why.empty()) {
      out.skipped.emplace_back(en.name, why);
      continue;
    }
    const auto bytes = contents(f, en);
    const fs::path target = fs::path(dir) / path;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec || fs::exists(target, ec)) {
      out.skipped.emplace_back(en.name, ec ? "its folder cannot be made (a file has that name)" : "a second entry with this name");
      continue;
    }
    write_new_file(target, bytes);
    ++out.files;
    out.bytes += bytes.size();
  }
  return out;
}

}  // namespace xraykit::web
