#pragma once
// The default number of threads: one per core the machine reports (at least one). Internal.
#include <algorithm>
#include <thread>

namespace xraykit {

inline int hardware_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

/// `requested` when positive, else one per core.
inline int threads_or_default(int requested) { return requested > 0 ? requested : hardware_threads(); }

}  // namespace xraykit
