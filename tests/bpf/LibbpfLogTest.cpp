// libbpf's log in spdlog: a verifier log names the refused instruction at its end, so a message
// longer than any fixed buffer must keep its end (the first version cut every message at 2,048
// bytes, and with it the verifier's reason).

#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <memory>
#include <string>

#include "dataplane/LibbpfLog.h"

namespace sluice::dataplane {
namespace {

int callPrint(libbpf_print_fn_t fn, libbpf_print_level level, const char* format, ...) {
  va_list args;
  va_start(args, format);
  const int n = fn(level, format, args);
  va_end(args);
  return n;
}

class LibbpfLog : public ::testing::Test {
 protected:
  void SetUp() override {
    routeLibbpfLogToSpdlog();
    print_ = libbpf_set_print(nullptr);  // what routeLibbpfLogToSpdlog installed
    libbpf_set_print(print_);
    ring_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4);
    ring_->set_pattern("%v");
    previous_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("libbpf-log-test", ring_));
  }
  void TearDown() override { spdlog::set_default_logger(previous_); }

  std::string lastMessage() {
    const auto lines = ring_->last_formatted(1);
    return lines.empty() ? std::string() : lines.back();
  }

  libbpf_print_fn_t print_ = nullptr;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> ring_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(LibbpfLog, AShortMessageArrivesWhole) {
  ASSERT_NE(print_, nullptr);
  callPrint(print_, LIBBPF_WARN, "libbpf: map '%s': failed to create: %s(%d)\n", "sluice_flows",
            "Invalid argument", -22);
  EXPECT_EQ(lastMessage(), "libbpf: map 'sluice_flows': failed to create: Invalid argument(-22)\n");
}

TEST_F(LibbpfLog, AVerifierLogKeepsItsHeadAndTheRefusalAtItsEnd) {
  ASSERT_NE(print_, nullptr);
  std::string log = "-- BEGIN PROG LOAD LOG --\n";
  for (int i = 0; log.size() < 200'000; ++i) {
    log += std::to_string(i) + ": (b7) r0 = 0                      ; R0=0\n";
  }
  log += "R8 bitwise operator |= on pointer prohibited\n";
  log += "processed 1789 insns (limit 1000000)\n-- END PROG LOAD LOG --\n";
  callPrint(print_, LIBBPF_WARN, "libbpf: prog '%s': %s", "sluice_xdp", log.c_str());
  const std::string got = lastMessage();
  EXPECT_EQ(got.rfind("libbpf: prog 'sluice_xdp': -- BEGIN PROG LOAD LOG --\n0: (b7)", 0), 0u)
      << got.substr(0, 200);
  EXPECT_NE(got.find("R8 bitwise operator |= on pointer prohibited\nprocessed 1789 insns"),
            std::string::npos);
  EXPECT_NE(got.find("bytes of the log left out ...]"), std::string::npos);
  EXPECT_LT(got.size(), 40'000u) << "a megabyte log is clipped, not logged whole";
}

}  // namespace
}  // namespace sluice::dataplane
