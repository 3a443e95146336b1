#pragma once
// Token buckets keyed by text (a client address, a user name) for login rate limiting.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice::auth {

using SteadyTime = std::chrono::steady_clock::time_point;

/// A bucket holds up to `burst` tokens and gains one every `refill`; an attempt takes one.
struct RateLimit {
  uint32_t burst = 10;
  std::chrono::milliseconds refill{6000};
};

/// One bucket per key, created full on first use. Not thread-safe (Authenticator locks).
/// Memory is bounded: when more than `maxKeys` buckets exist, buckets that have refilled to full
/// (indistinguishable from absent ones) are dropped; if that is not enough, the fullest are.
class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit, size_t maxKeys = 65536);

  /// Takes a token for `key` at `now`. Returns 0 when one was available, else the whole seconds
  /// (≥ 1, rounded up) until one will be: the Retry-After value.
  uint32_t take(std::string_view key, SteadyTime now);

  /// Seconds until `key` has a token (0 = it has one now), without taking it.
  uint32_t wait(std::string_view key, SteadyTime now) const;

  size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    SteadyTime updated{};
  };
  double tokensAt(const Bucket& b, SteadyTime now) const;
  uint32_t secondsUntilToken(double tokens) const;
  void prune(SteadyTime now);

  RateLimit limit_;
  size_t maxKeys_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace sluice::auth
