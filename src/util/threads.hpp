#pragma once
// The default number of threads. Internal.
#include <algorithm>
#include <cstdlib>
#include <thread>

namespace xraykit {

inline int hardware_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

/// OMP_NUM_THREADS where it holds a number from 1 to 1024 (the usual way to share a machine
/// between processes), else one per core the machine reports.
inline int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1 && n <= 1024) return static_cast<int>(n);
  }
  return hardware_threads();
}

/// `requested` when positive, else the default.
inline int threads_or_default(int requested) { return requested > 0 ? requested : default_threads(); }

}  // namespace xraykit
