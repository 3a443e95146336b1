#pragma once
// Shared by the api tests: a scriptable ControlHandler, a temporary directory for sockets and a
// raw Unix-socket client that sends arbitrary bytes.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>

#include <gtest/gtest.h>

#include "api/ControlApi.h"

namespace sluice::api::test {

/// Answers each route with a preset Response (or runs a preset action) and counts the calls.
class FakeHandler : public ControlHandler {
 public:
  Response status() override { return answer(statusCalls, statusResponse); }
  Response reload() override { return answer(reloadCalls, reloadResponse); }
  Response check() override { return answer(checkCalls, checkResponse); }

  std::atomic<int> statusCalls{0};
  std::atomic<int> reloadCalls{0};
  std::atomic<int> checkCalls{0};
  Response statusResponse{200, {{"state", "ready"}}};
  Response reloadResponse{200, {{"outcome", "applied"}}};
  Response checkResponse{200, {{"valid", true}}};
  std::function<void()> beforeAnswer;  ///< runs inside each call (e.g. to throw)

 private:
  Response answer(std::atomic<int>& calls, const Response& response) {
    ++calls;
    if (beforeAnswer) {
      beforeAnswer();
    }
    return response;
  }
};

/// A fresh directory under /tmp (short, so socket paths fit sun_path), removed afterwards.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/sluice-api-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    path_ = made != nullptr ? made : "/tmp";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline sockaddr_un unixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof(addr.sun_path) - 1));
  return addr;
}

/// Connects to `path`, sends `bytes`, and returns everything read until the server closes the
/// connection or 5 s pass (the test then sees a truncated answer). "" when connect fails.
inline std::string rawExchange(const std::string& path, const std::string& bytes) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un addr = unixAddress(path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return {};
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

/// Connects to `path`, sends `bytes` and closes at once, without reading.
inline void sendAndHangUp(const std::string& path, const std::string& bytes) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un addr = unixAddress(path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  ::close(fd);
}

/// Binds a socket at `path` and closes it without unlinking: what a killed daemon leaves behind.
inline void makeStaleSocket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un addr = unixAddress(path);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0)
      << std::strerror(errno);
  ::close(fd);
}

}  // namespace sluice::api::test
