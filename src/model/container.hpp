#pragma once
// xraykit's file container for models and checkpoints: a magic number, a kind, named byte
// sections and a checksum over everything, so that a file from another program, a file of
// the wrong kind, and a truncated or damaged file are each told apart. Internal header.
//
// Layout (little-endian): "XRAYKIT\0" | u32 version | u32 len, kind | u32 n |
//   n x (u32 len, name | u64 len, data) | u64 checksum of all preceding bytes: CRC-32 (zlib)
//   in version 2, FNV-1a in version 1 (still read).
// The checksum detects accidental damage only; it is not a signature. What reads the
// sections must treat them as hostile (see torch_pickle.hpp).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "util/file_util.hpp"

namespace xraykit {

using Sections = std::map<std::string, std::vector<std::uint8_t>>;

/// Writes atomically.
void write_container(const std::string& path, const std::string& kind, const Sections& sections);

/// A container file in memory: its bytes, and each section as a span inside them (valid as
/// long as this lives, moves included; the sections are not copied out: a checkpoint holds
/// hundreds of MB).
struct ContainerFile {
  ContainerFile() = default;
  ContainerFile(ContainerFile&&) = default;
  ContainerFile& operator=(ContainerFile&&) = default;
  ContainerFile(const ContainerFile&) = delete;  // a copy's spans would point into the original
  ContainerFile& operator=(const ContainerFile&) = delete;
  std::vector<std::uint8_t> bytes;
  std::map<std::string, ByteSpan> sections;
};

/// ModelError naming the path: not an xraykit file, another kind, truncated, damaged.
ContainerFile read_container(const std::string& path, const std::string& kind);

}  // namespace xraykit
