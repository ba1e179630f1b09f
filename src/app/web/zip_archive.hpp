#pragma once
// Unpacking a zip file that a browser uploaded (the studio's datasets). The file is hostile
// until proven otherwise: every size and offset is checked against the file before anything
// is allocated or read, entries may not overlap (the overlapping-entry zip bomb), each entry
// inflates to at most the size its header declares (checked while inflating, then by CRC),
// the declared sizes are bounded per entry, in total and in compression ratio, and names are
// made safe before they touch the file system: relative, no "..", no absolute or drive paths,
// no control characters; links and encrypted entries are never extracted. Stored and deflated
// entries are read (what every zip tool writes); ZIP64 and multi-disk archives are refused.
// Errors: InvalidArgument naming what is wrong with the archive; IoError for the file system.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace xraykit::web {

struct ZipLimits {
  std::uint64_t max_entries = 100'000;
  std::uint64_t max_entry_bytes = 256ull << 20;  ///< one file, uncompressed
  std::uint64_t max_total_bytes = 8ull << 30;    ///< all files, uncompressed
  std::uint64_t max_ratio = 1100;                ///< uncompressed / compressed (deflate cannot exceed ~1032)
};

/// The file-system path a zip entry name may become, or empty with `why` set: a relative path
/// of at most 16 components of ordinary names ('\' read as '/'; "a/./b" is "a/b").
std::string safe_entry_path(const std::string& name, std::string* why);

struct ZipExtraction {
  std::size_t files = 0;
  std::uint64_t bytes = 0;
  std::vector<std::pair<std::string, std::string>> skipped;  ///< entry name, reason
};

/// Extracts the regular-file entries of `zip_path` that `keep` accepts (given the safe path)
/// into `dir`, which must not exist yet (it is created). Entries refused one by one (unsafe
/// name, link, encrypted, not kept) are listed as skipped; a damaged or oversized archive
/// throws, and then `dir` may hold a part: the caller removes it.
ZipExtraction extract_zip(const std::string& zip_path, const std::string& dir, const ZipLimits& limits,
                          const std::function<bool(const std::string& path)>& keep);

}  // namespace xraykit::web
