#pragma once
// Deterministic random draws for the generator. std::mt19937_64's output sequence is fixed by the
// C++ standard, but std::uniform_int_distribution and friends are not (libstdc++ and libc++ give
// different values), so the distributions are written out here.

#include <cstdint>
#include <random>
#include <span>

namespace sluice::synth {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  uint64_t next() { return engine_(); }

  /// Uniform integer in [0, bound) by rejection of the biased tail; bound > 0.
  uint64_t below(uint64_t bound) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x = next();
    while (x >= limit) {
      x = next();
    }
    return x % bound;
  }

  /// Uniform integer in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// True with probability p.
  bool chance(double p) { return unit() < p; }

  /// One element of a non-empty span.
  template <typename T>
  const T& pick(std::span<const T> items) {
    return items[below(items.size())];
  }

  /// Index drawn with the given non-negative integer weights (at least one positive).
  size_t weighted(std::span<const uint32_t> weights) {
    uint64_t total = 0;
    for (const uint32_t w : weights) {
      total += w;
    }
    uint64_t x = below(total);
    for (size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) {
        return i;
      }
      x -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace sluice::synth
