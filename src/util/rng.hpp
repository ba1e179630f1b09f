#pragma once
// Seeded randomness that gives the same sequence on every platform: std::mt19937_64 is fully
// specified by the standard, but std::shuffle and the std distributions are not.
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace xraykit {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t next() { return engine_(); }
  /// Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : engine_() % n; }
  /// Uniform double in [0, 1).
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  bool chance(double p) { return uniform() < p; }
  /// Standard normal (Box-Muller).
  double normal();
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::mt19937_64 engine_;
};

/// Mixes a base seed with a stream number, so that e.g. per-sample and per-epoch streams
/// are independent of each other and of the order in which threads run.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream);

}  // namespace xraykit
