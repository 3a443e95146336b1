#pragma once
// Helpers for the auth tests: cheap argon2id parameters, a private temporary directory, a clock.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "auth/Password.h"
#include "auth/RateLimiter.h"

namespace sluice::auth::test {

/// argon2id at its minimum cost (the format and the code paths are the same; tests stay fast).
inline constexpr PasswordParams kCheapParams{1, 64, 1, 16, 32};

/// A fresh directory under the test temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("sluice-auth-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

/// A steady clock the test moves by hand.
struct FakeClock {
  SteadyTime t = SteadyTime{} + std::chrono::hours(1000);
  void advance(std::chrono::milliseconds d) { t += d; }
};

}  // namespace sluice::auth::test
