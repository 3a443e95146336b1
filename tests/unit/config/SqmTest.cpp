// parseSqmText: LibreQoS-style leaf qdisc text to plan::LeafSpec.

#include <gtest/gtest.h>

#include <string>

#include "config/Sqm.h"

namespace sluice::config {
namespace {

const SourceLocation kWhere{"lqos.conf", 7, 15};

std::optional<plan::LeafSpec> sqm(std::string_view text, Diagnostics& diags) {
  return parseSqmText(text, kWhere, "queues.default_sqm", diags);
}

/// Parses text that must be valid.
plan::LeafSpec good(std::string_view text) {
  Diagnostics diags;
  auto leaf = sqm(text, diags);
  EXPECT_TRUE(leaf) << text;
  EXPECT_EQ(diags.all().size(), 0u) << text;
  return leaf.value_or(plan::LeafSpec{});
}

/// Parses text that must fail with exactly one invalid-sqm error; returns its message.
std::string bad(std::string_view text) {
  Diagnostics diags;
  EXPECT_FALSE(sqm(text, diags)) << text;
  EXPECT_EQ(diags.errorCount(), 1u) << text;
  if (diags.all().empty()) {
    return {};
  }
  const Diagnostic& d = diags.all().front();
  EXPECT_EQ(d.category, "invalid-sqm");
  EXPECT_EQ(d.where.line, 7u);
  EXPECT_EQ(d.where.column, 15u);
  EXPECT_EQ(d.value, std::string(text));
  return d.message;
}

TEST(Sqm, CakeDiffserv4) {
  plan::LeafSpec leaf = good("cake diffserv4");
  EXPECT_EQ(leaf.kind, plan::LeafKind::Cake);
  EXPECT_EQ(leaf.cake.diffserv, plan::CakeDiffserv::Diffserv4);
  EXPECT_EQ(leaf.cake.rttUs, 100'000u);
  EXPECT_FALSE(leaf.cake.ackFilter);
  EXPECT_FALSE(leaf.cake.nat);
  EXPECT_EQ(leaf.handleMajor, 0);
}

TEST(Sqm, CakeWithOptions) {
  plan::LeafSpec leaf = good("cake diffserv4 ack-filter nat rtt 50ms");
  EXPECT_EQ(leaf.cake.diffserv, plan::CakeDiffserv::Diffserv4);
  EXPECT_TRUE(leaf.cake.ackFilter);
  EXPECT_TRUE(leaf.cake.nat);
  EXPECT_EQ(leaf.cake.rttUs, 50'000u);
}

TEST(Sqm, PlainCakeIsDiffserv3LikeTc) {
  EXPECT_EQ(good("cake").cake.diffserv, plan::CakeDiffserv::Diffserv3);
}

TEST(Sqm, CakeKeywordsAndUnits) {
  plan::LeafSpec leaf = good(
      "  CAKE besteffort satellite wash no-split-gso bandwidth 100mbit "
      "overhead -4 mpu 64 memlimit 32mb triple-isolate  ");
  EXPECT_EQ(leaf.cake.diffserv, plan::CakeDiffserv::Besteffort);
  EXPECT_EQ(leaf.cake.rttUs, 1'000'000u);
  EXPECT_TRUE(leaf.cake.wash);
  EXPECT_FALSE(leaf.cake.splitGso);
  EXPECT_EQ(leaf.cake.bandwidthBitsPerSecond, 100'000'000u);
  EXPECT_EQ(leaf.cake.overheadBytes, -4);
  EXPECT_EQ(leaf.cake.mpuBytes, 64u);
  EXPECT_EQ(leaf.cake.memlimitBytes, 32u << 20);
  EXPECT_EQ(good("cake bandwidth 2gbps").cake.bandwidthBitsPerSecond, 16'000'000'000u);
  EXPECT_EQ(good("cake rtt 0.5s").cake.rttUs, 500'000u);
  EXPECT_EQ(good("cake rtt 300").cake.rttUs, 300u);  // no unit: microseconds, as tc
  EXPECT_EQ(good("cake interplanetary").cake.rttUs, 3'600'000'000u);
  EXPECT_EQ(good("cake diffserv8 precedence").cake.diffserv, plan::CakeDiffserv::Precedence);
}

TEST(Sqm, FqCodel) {
  plan::LeafSpec plain = good("fq_codel");
  EXPECT_EQ(plain.kind, plan::LeafKind::FqCodel);
  EXPECT_EQ(plain.fqCodel, plan::FqCodelParams{});

  plan::LeafSpec leaf = good("fq_codel target 5ms interval 100ms ecn");
  EXPECT_EQ(leaf.fqCodel.targetUs, 5'000u);
  EXPECT_EQ(leaf.fqCodel.intervalUs, 100'000u);
  EXPECT_TRUE(leaf.fqCodel.ecn);

  plan::LeafSpec tuned =
      good("fq_codel limit 2000 flows 4096 quantum 300 memory_limit 4m target 2ms noecn");
  EXPECT_EQ(tuned.fqCodel.limitPackets, 2000u);
  EXPECT_EQ(tuned.fqCodel.flows, 4096u);
  EXPECT_EQ(tuned.fqCodel.quantumBytes, 300u);
  EXPECT_EQ(tuned.fqCodel.memoryLimitBytes, 4u << 20);
  EXPECT_EQ(tuned.fqCodel.targetUs, 2'000u);
  EXPECT_FALSE(tuned.fqCodel.ecn);
}

TEST(Sqm, FifosAndNone) {
  EXPECT_EQ(good("pfifo").kind, plan::LeafKind::Pfifo);
  EXPECT_EQ(good("pfifo").fifoLimit, 0u);
  EXPECT_EQ(good("pfifo limit 500").fifoLimit, 500u);
  plan::LeafSpec b = good("bfifo limit 10k");
  EXPECT_EQ(b.kind, plan::LeafKind::Bfifo);
  EXPECT_EQ(b.fifoLimit, 10'240u);
  EXPECT_EQ(good("none").kind, plan::LeafKind::None);
}

TEST(Sqm, UnknownTokensAreNamed) {
  EXPECT_NE(bad("cake diffserv4 turbo").find("'turbo'"), std::string::npos);
  EXPECT_NE(bad("fq_codel fast").find("'fast'"), std::string::npos);
  EXPECT_NE(bad("pfifo burst 3").find("'burst'"), std::string::npos);
  EXPECT_NE(bad("sfq perturb 10").find("'sfq'"), std::string::npos);
  EXPECT_NE(bad("none please").find("'please'"), std::string::npos);
}

TEST(Sqm, KnownButUnsupportedOptionsAreRefusedByName) {
  std::string message = bad("cake dual-srchost");
  EXPECT_NE(message.find("'dual-srchost'"), std::string::npos);
  EXPECT_NE(message.find("not supported"), std::string::npos);
  EXPECT_NE(bad("fq_codel ce_threshold 1ms").find("'ce_threshold'"), std::string::npos);
}

TEST(Sqm, MalformedArguments) {
  EXPECT_NE(bad("cake rtt").find("needs a value"), std::string::npos);
  EXPECT_NE(bad("cake rtt 5parsecs").find("rtt 5parsecs"), std::string::npos);
  EXPECT_NE(bad("cake rtt 0ms").find("rtt 0ms"), std::string::npos);
  EXPECT_NE(bad("cake overhead -70").find("overhead -70"), std::string::npos);
  EXPECT_NE(bad("cake mpu 300").find("mpu 300"), std::string::npos);
  EXPECT_NE(bad("cake bandwidth fast").find("bandwidth fast"), std::string::npos);
  EXPECT_NE(bad("fq_codel flows 0").find("flows 0"), std::string::npos);
  EXPECT_NE(bad("fq_codel limit 10k").find("limit 10k"), std::string::npos);
  EXPECT_NE(bad("fq_codel target 1e30s").find("target 1e30s"), std::string::npos);
  EXPECT_NE(bad("pfifo limit -1").find("limit -1"), std::string::npos);
}

TEST(Sqm, EmptyTextIsAnError) {
  EXPECT_NE(bad("").find("empty"), std::string::npos);
  EXPECT_NE(bad(" \t ").find("empty"), std::string::npos);
}

TEST(Sqm, EveryProblemIsReported) {
  Diagnostics diags;
  // Two bad arguments, then an unknown token; what follows that token is not read.
  EXPECT_FALSE(sqm("cake rtt x overhead 999 warp 9 more", diags));
  EXPECT_EQ(diags.errorCount(), 3u);
}

}  // namespace
}  // namespace sluice::config
