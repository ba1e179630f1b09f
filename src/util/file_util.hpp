#pragma once
// Whole-file reads and atomic writes (write a temporary beside the target, then rename, so a
// crash never leaves a half-written file under the real name). A temporary left by a writer
// that died is removed by the next write to the same path.
#include <cstdint>
#include <string>
#include <vector>

namespace xraykit {

std::vector<std::uint8_t> read_file(const std::string& path);

/// A run of bytes owned by the caller; a file written from several of them is their
/// concatenation, so large parts are written where they lie instead of being copied together.
struct ByteSpan {
  const void* data;
  std::size_t size;
  const std::uint8_t* begin() const { return static_cast<const std::uint8_t*>(data); }
  const std::uint8_t* end() const { return begin() + size; }
};
void write_file_atomic(const std::string& path, const std::vector<ByteSpan>& parts);
inline void write_file_atomic(const std::string& path, const void* data, std::size_t size) {
  write_file_atomic(path, std::vector<ByteSpan>{{data, size}});
}
inline void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}
inline void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

/// One CSV field, double-quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& s);

}  // namespace xraykit
