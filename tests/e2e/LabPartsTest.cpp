// The lab's parts that need no privileges: process running, address derivation, iperf3 report
// and ping output parsing, the lab config writer.

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "config/ConfigLoader.h"
#include "lab/Command.h"
#include "lab/LabConfig.h"
#include "lab/Layout.h"
#include "lab/Qoe.h"
#include "lab/Traffic.h"

namespace sluice::lab {
namespace {

namespace fs = std::filesystem;

IpNet net(const char* text) { return *IpNet::parse(text); }

TEST(LabCommand, CapturesOutputAndExitCode) {
  auto out = run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ(out->exitCode, 3);
  EXPECT_EQ(out->out, "out\n");
  EXPECT_EQ(out->err, "err\n");
}

TEST(LabCommand, FeedsStdin) {
  auto out = runChecked({"cat"}, "line one\nline two\n");
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ(*out, "line one\nline two\n");
}

TEST(LabCommand, FailureNamesTheCommandAndItsStderr) {
  auto out = runChecked({"sh", "-c", "echo 'RTNETLINK answers: File exists' >&2; exit 2"});
  ASSERT_FALSE(out.has_value());
  EXPECT_NE(out.error().context.find("sh -c"), std::string::npos) << out.error().message();
  EXPECT_EQ(out.error().detail, "RTNETLINK answers: File exists");
}

TEST(LabCommand, MissingProgramIsENOENT) {
  auto out = run({"sluice-no-such-program"});
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().errnum, ENOENT);
}

TEST(LabCommand, TimeoutKillsTheChild) {
  auto out = run({"sleep", "10"}, {}, std::chrono::milliseconds(200));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().errnum, ETIMEDOUT);
}

TEST(LabCommand, ManyChildrenWithLargeOutputDoNotBlock) {
  // Each writes more than a pipe holds; all run before any is waited for.
  std::vector<Child> children;
  for (int i = 0; i < 4; ++i) {
    auto child = Child::start({"head", "-c", "300000", "/dev/zero"});
    ASSERT_TRUE(child.has_value());
    children.push_back(std::move(*child));
  }
  for (Child& child : children) {
    auto out = child.wait(std::chrono::seconds(20));
    ASSERT_TRUE(out.has_value()) << out.error().message();
    EXPECT_EQ(out->out.size(), 300000u);
  }
}

TEST(LabLayout, HostForEntries) {
  EXPECT_EQ(hostFor(net("100.64.0.7")).toString(), "100.64.0.7");
  EXPECT_EQ(hostFor(net("100.64.0.8/29")).toString(), "100.64.0.9");
  EXPECT_EQ(hostFor(net("100.64.0.8/31")).toString(), "100.64.0.8");
  EXPECT_EQ(hostFor(net("2001:db8:1::/64")).toString(), "2001:db8:1::1");
  EXPECT_EQ(hostFor(net("2001:db8:1::5")).toString(), "2001:db8:1::5");
  EXPECT_EQ(hostFor(net("100.64.0.8/29")).prefixLen, 128);
}

TEST(LabLayout, UnknownAddressAvoidsEveryCircuit) {
  model::ShapedDevices shaped;
  model::Circuit circuit;
  circuit.id = "c";
  model::Device device;
  device.ipv4 = {net("100.127.255.0/24")};
  device.ipv6 = {net("2001:db8:fffe::/48")};
  circuit.devices.push_back(device);
  shaped.circuits.push_back(circuit);
  const auto v4 = unknownAddress(shaped, true);
  const auto v6 = unknownAddress(shaped, false);
  ASSERT_TRUE(v4 && v6);
  EXPECT_EQ(v4->toString(), "100.127.254.254");
  EXPECT_TRUE(v4->isV4);
  EXPECT_EQ(v6->toString(), "2001:db8:fffd::1");
  EXPECT_FALSE(v6->isV4);
}

TEST(LabTraffic, ReceiverRateFromIperfJson) {
  const std::string report = R"({"start":{},"intervals":[],"end":{
      "sum_sent":{"bits_per_second":11000000.0},
      "sum_received":{"bits_per_second":9500000.0}}})";
  auto mbps = receiverMbps(report);
  ASSERT_TRUE(mbps.has_value());
  EXPECT_DOUBLE_EQ(*mbps, 9.5);
}

TEST(LabTraffic, IperfErrorIsReported) {
  auto mbps = receiverMbps(R"({"start":{},"error":"unable to connect to server"})");
  ASSERT_FALSE(mbps.has_value());
  EXPECT_EQ(mbps.error().detail, "unable to connect to server");
  EXPECT_FALSE(receiverMbps("iperf3: error").has_value());
}

TEST(LabTraffic, IperfArgvBindsTheSourceAndPicksTheFamilysServer) {
  const auto v6 = iperfArgv(net("2001:db8:60::1"), 5203, true, 8);
  const std::string text = describe(v6);
  EXPECT_EQ(text,
            "ip netns exec subs iperf3 --client 2001:db8:ffff::1 --port 5203 --bind "
            "2001:db8:60::1 --time 8 --omit 1 --connect-timeout 5000 --congestion cubic --json "
            "--reverse");
  const auto v4 = iperfArgv(net("100.64.0.9"), 5201, false, 5);
  EXPECT_EQ(v4[6], kServerV4);
  EXPECT_EQ(v4.back(), "--json");
}

TEST(LabConfig, RewritesInterfacesAndPathsKeepsTheRest) {
  const fs::path dir = fs::temp_directory_path() / "sluice-lab-config-test";
  fs::create_directories(dir);
  const std::string out = (dir / "lqos.conf").string();
  LabConfigRequest request{SLUICE_TEST_DATA_DIR "/e2e/lqos.conf", LabMode::Stick,
                           "/run/x/network.json", "/run/x/ShapedDevices.csv", "/run/x/state",
                           "/run/x/sluiced.sock", std::string("pfifo")};
  ASSERT_TRUE(writeLabConfig(request, out).has_value());
  Diagnostics diags;
  auto config = config::loadConfig(out, diags);
  ASSERT_TRUE(config.has_value());
  EXPECT_FALSE(diags.hasErrors());
  ASSERT_TRUE(config->singleInterface.has_value());
  EXPECT_FALSE(config->bridge.has_value());
  EXPECT_EQ(config->singleInterface->interface, kShaperStickIf);
  EXPECT_EQ(config->singleInterface->internetVlan, 2);  // the template has no [single_interface]
  EXPECT_EQ(config->sluice.networkJson, "/run/x/network.json");
  EXPECT_EQ(config->sluice.controlSocket, "/run/x/sluiced.sock");
  EXPECT_EQ(config->sluice.leafFallback, "pfifo");
  EXPECT_EQ(config->queues.defaultSqm, "cake diffserv4");  // kept from the template

  request.templatePath = SLUICE_TEST_DATA_DIR "/e2e/lqos-stick.conf";
  ASSERT_TRUE(writeLabConfig(request, out).has_value());
  config = config::loadConfig(out, diags);
  ASSERT_TRUE(config && config->singleInterface);
  EXPECT_EQ(config->singleInterface->internetVlan, 100);
  EXPECT_EQ(config->singleInterface->networkVlan, 200);

  request.mode = LabMode::Bridge;
  ASSERT_TRUE(writeLabConfig(request, out).has_value());
  config = config::loadConfig(out, diags);
  ASSERT_TRUE(config && config->bridge);
  EXPECT_FALSE(config->singleInterface.has_value());
  EXPECT_EQ(config->bridge->toInternet, kShaperInternetIf);
  EXPECT_EQ(config->bridge->toNetwork, kShaperNetworkIf);
  EXPECT_FALSE(config->bridge->useXdpBridge);
  fs::remove_all(dir);
}

TEST(LabConfig, BadTemplateIsAnErrorWithItsLocation) {
  const fs::path file = fs::temp_directory_path() / "sluice-lab-bad.conf";
  std::ofstream(file) << "[bridge\n";
  LabConfigRequest request;
  request.templatePath = file.string();
  auto written = writeLabConfig(request, "/dev/null");
  ASSERT_FALSE(written.has_value());
  EXPECT_NE(written.error().context.find(file.string() + ":1:"), std::string::npos)
      << written.error().message();
  fs::remove(file);
}

TEST(LabQoe, PercentilesAreNearestRank) {
  std::vector<double> sorted;
  for (int i = 1; i <= 100; ++i) {
    sorted.push_back(i);
  }
  EXPECT_EQ(percentile(sorted, 50), 50);
  EXPECT_EQ(percentile(sorted, 90), 90);
  EXPECT_EQ(percentile(sorted, 99), 99);
  EXPECT_EQ(percentile({7.5}, 99), 7.5);
  EXPECT_EQ(percentile({1, 2, 3}, 50), 2);
}

TEST(LabQoe, ParsesPingRepliesLossAndDuplicates) {
  const std::string output =
      "PING 100.64.1.10 (100.64.1.10) 56(84) bytes of data.\n"
      "64 bytes from 100.64.1.10: icmp_seq=1 ttl=64 time=0.712 ms\n"
      "64 bytes from 100.64.1.10: icmp_seq=2 ttl=64 time=288 ms\n"
      "64 bytes from 100.64.1.10: icmp_seq=2 ttl=64 time=290 ms (DUP!)\n"
      "64 bytes from 100.64.1.10: icmp_seq=4 ttl=64 time=1.5 ms\n"
      "\n"
      "--- 100.64.1.10 ping statistics ---\n"
      "4 packets transmitted, 3 received, +1 duplicates, 25% packet loss, time 3004ms\n"
      "rtt min/avg/max/mdev = 0.712/96.737/288.000/135.252 ms\n";
  auto stats = parsePing(output);
  ASSERT_TRUE(stats.has_value()) << stats.error().message();
  EXPECT_EQ(stats->sent, 4u);
  EXPECT_EQ(stats->received, 3u);
  EXPECT_DOUBLE_EQ(stats->p50Ms, 1.5);
  EXPECT_DOUBLE_EQ(stats->p99Ms, 288);
  EXPECT_DOUBLE_EQ(stats->maxMs, 288);
}

TEST(LabQoe, PingWithoutSummaryIsAnError) {
  auto stats = parsePing("ping: connect: Network is unreachable\n");
  ASSERT_FALSE(stats.has_value());
  EXPECT_EQ(stats.error().errnum, EPROTO);
}

TEST(LabQoe, NoReplyGivesZeroPercentilesAndFullLoss) {
  auto stats = parsePing("--- x ping statistics ---\n10 packets transmitted, 0 received, "
                         "100% packet loss, time 9000ms\n");
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->sent, 10u);
  EXPECT_EQ(stats->received, 0u);
}

}  // namespace
}  // namespace sluice::lab
