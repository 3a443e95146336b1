// The lab probe's pacing (src/lab/Probe.h) on loopback, without privileges: what it sends,
// receives and skips when its own sender stalls.

#include <gtest/gtest.h>

#include <chrono>

#include "lab/Probe.h"

namespace sluice::lab {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(ProbeStall, OnlyAWakeUpPastTheThresholdSkipsAndTheLastOwedPacketStillGoes) {
  const int64_t interval = 5'000'000;  // 200 packets/s
  const int64_t stall = 100'000'000;
  EXPECT_EQ(stalledPackets(0, interval, stall), 0u);
  EXPECT_EQ(stalledPackets(99'000'000, interval, stall), 0u);  // owed packets go at once
  EXPECT_EQ(stalledPackets(100'000'000, interval, stall), 0u);
  // 3.3 s late at 200 packets/s: 660 packets were due before the one sent now.
  EXPECT_EQ(stalledPackets(3'300'000'000, interval, stall), 660u);
  EXPECT_EQ(stalledPackets(3'300'000'000, 0, stall), 0u);
}

ProbeOptions loopback(uint32_t pps, milliseconds duration) {
  ProbeOptions options;
  options.target = *IpNet::parse("127.0.0.1");
  options.senderNs = "";
  options.receiverNs = "";
  options.pps = pps;
  options.duration = duration;
  options.drain = milliseconds(200);
  return options;
}

TEST(ProbeLoopback, ATimedRunSendsItsScheduleAndLosesNothing) {
  auto probe = Probe::start(loopback(1000, milliseconds(300)));
  ASSERT_TRUE(probe) << probe.error().message();
  (*probe)->waitSent();
  const ProbeReport r = (*probe)->stop();
  EXPECT_EQ(r.sent + r.notSent, 300u) << renderProbeReport(r, "loopback");
  EXPECT_EQ(r.lost, 0u) << renderProbeReport(r, "loopback");
  EXPECT_EQ(r.received, r.sent);
  EXPECT_EQ(r.toJson().at("not_sent").get<uint64_t>(), r.notSent);
}

TEST(ProbeLoopback, AStalledSenderSkipsWhatItOwesAndSaysSo) {
  // Every wake-up more than 1 µs late counts as a stall: at 100k packets/s (10 µs apart) the
  // sender is always behind, so it skips instead of bursting.
  ProbeOptions options = loopback(100'000, milliseconds(200));
  options.stallSkip = microseconds(1);
  auto probe = Probe::start(options);
  ASSERT_TRUE(probe) << probe.error().message();
  (*probe)->waitSent();
  const ProbeReport r = (*probe)->stop();
  EXPECT_GT(r.senderStalls, 0u) << renderProbeReport(r, "loopback");
  EXPECT_GT(r.notSent, 0u);
  EXPECT_EQ(r.sent + r.notSent, 20'000u) << renderProbeReport(r, "loopback");
  EXPECT_LE(r.received, r.sent);
  EXPECT_GT(r.longestSenderStallMs, 0.0);
  EXPECT_NE(renderProbeReport(r, "loopback").find("sender stalls"), std::string::npos);
  // A window after the run's start sees only its own stalls.
  const ProbeReport tail = (*probe)->report(r.sent / 2, r.sent);
  EXPECT_LE(tail.senderStalls, r.senderStalls);
  EXPECT_LE(tail.notSent, r.notSent);
}

}  // namespace
}  // namespace sluice::lab
