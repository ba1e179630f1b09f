#include "util/file_util.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include <fmt/format.h>

#include "xraykit/error.hpp"

namespace xraykit {

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw IoError("is a folder, not a file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("cannot open ({})", std::strerror(errno)), path);
  in.seekg(0, std::ios::end);
  const std::streamoff n = in.tellg();
  if (n < 0) throw IoError("cannot read", path);
  in.seekg(0);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(n));
  if (n > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), n))
    throw IoError("read failed", path);
  return bytes;
}

namespace {

// A fresh temporary beside `path`: mkstemp creates it with O_EXCL, so a file or symlink
// planted under a predictable name is never opened (and never overwritten through). Its writer
// holds an exclusive flock on it until the rename, which the kernel drops if the writer dies,
// so that remove_dead_temporaries can tell a dead writer's temporary from a live one's.
std::pair<int, std::string> create_temporary(const std::string& path) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = path + ".tmp.XXXXXX";
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) throw IoError(fmt::format("cannot write ({})", std::strerror(errno)), path);
    struct stat st {};
    // Between mkstemp and the lock another save may have taken the file for a dead one's.
    if (::flock(fd, LOCK_EX) == 0 && ::fstat(fd, &st) == 0 && st.st_nlink > 0) {
      ::fchmod(fd, 0644);  // mkstemp makes 0600; a model or report is meant to be read by others
      return {fd, name};
    }
    ::close(fd);
  }
  throw IoError("cannot create a temporary file beside it", path);
}

// Temporaries of `path` left by writers that died (kill -9, power loss): those nobody holds a
// lock on. Symlinks and other non-files under such names are left alone.
void remove_dead_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(target.parent_path().empty() ? fs::path(".") : target.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != prefix.size() + 6 || name.compare(0, prefix.size(), prefix) != 0) continue;
    const int fd = ::open(entry.path().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(entry.path().c_str());
    ::close(fd);
  }
}

// After a rename, the directory entry itself must reach the disk, or a crash can lose it.
void sync_directory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const int dir = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;  // the file is in place; only its durability is unconfirmed
  ::fsync(dir);
  ::close(dir);
}

// All n bytes, across short writes and interruptions; false with errno set on failure.
bool write_all(int fd, const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t done = ::write(fd, p, n);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) return false;
    p += done;
    n -= static_cast<std::size_t>(done);
  }
  return true;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::vector<ByteSpan>& parts) {
  remove_dead_temporaries(path);
  const auto [fd, tmp] = create_temporary(path);
  for (const ByteSpan& part : parts) {
    if (!write_all(fd, part.data, part.size)) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw IoError(fmt::format("write failed ({})", std::strerror(err)), path);
    }
  }
  const bool synced = ::fsync(fd) == 0;
  if (::close(fd) != 0 || !synced) {
    ::unlink(tmp.c_str());
    throw IoError(fmt::format("write failed ({})", std::strerror(errno)), path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw IoError(fmt::format("cannot rename into place ({})", std::strerror(err)), path);
  }
  sync_directory(path);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace xraykit
