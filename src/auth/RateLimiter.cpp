#include "auth/RateLimiter.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sluice::auth {

RateLimiter::RateLimiter(RateLimit limit, size_t maxKeys) : limit_(limit), maxKeys_(maxKeys) {}

double RateLimiter::tokensAt(const Bucket& b, SteadyTime now) const {
  const double elapsedMs =
      std::chrono::duration<double, std::milli>(now - b.updated).count();
  const double gained = elapsedMs > 0 ? elapsedMs / static_cast<double>(limit_.refill.count()) : 0;
  return std::min(static_cast<double>(limit_.burst), b.tokens + gained);
}

uint32_t RateLimiter::secondsUntilToken(double tokens) const {
  if (tokens >= 1.0) {
    return 0;
  }
  const double ms = (1.0 - tokens) * static_cast<double>(limit_.refill.count());
  return std::max<uint32_t>(1, static_cast<uint32_t>(std::ceil(ms / 1000.0)));
}

uint32_t RateLimiter::take(std::string_view key, SteadyTime now) {
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= maxKeys_) {
      prune(now);
    }
    it = buckets_.emplace(std::string(key), Bucket{static_cast<double>(limit_.burst), now}).first;
  }
  Bucket& b = it->second;
  b.tokens = tokensAt(b, now);
  b.updated = now;
  if (b.tokens < 1.0) {
    return secondsUntilToken(b.tokens);
  }
  b.tokens -= 1.0;
  return 0;
}

uint32_t RateLimiter::wait(std::string_view key, SteadyTime now) const {
  const auto it = buckets_.find(std::string(key));
  return it == buckets_.end() ? 0 : secondsUntilToken(tokensAt(it->second, now));
}

void RateLimiter::prune(SteadyTime now) {
  std::erase_if(buckets_, [&](const auto& entry) {
    return tokensAt(entry.second, now) >= static_cast<double>(limit_.burst);
  });
  if (buckets_.size() < maxKeys_) {
    return;
  }
  // Still full of partly drained buckets (an attack from many addresses): forget the fullest
  // half, which are the ones that matter least.
  std::vector<std::pair<double, std::string>> byTokens;
  byTokens.reserve(buckets_.size());
  for (const auto& [key, bucket] : buckets_) {
    byTokens.emplace_back(tokensAt(bucket, now), key);
  }
  std::sort(byTokens.begin(), byTokens.end(), std::greater<>());
  for (size_t i = 0; i < byTokens.size() / 2 + 1 && i < byTokens.size(); ++i) {
    buckets_.erase(byTokens[i].second);
  }
}

}  // namespace sluice::auth
