#include "planner/LeafSelection.h"

#include "planner/HtbMath.h"

namespace sluice::plan {

namespace {

/// CAKE's own default rtt (tc-cake(8): "internet", 100 ms).
constexpr uint32_t kCakeDefaultRttUs = 100'000;

LeafSpec withLowRateRtt(LeafSpec leaf, double maxMbps) {
  if (leaf.kind == LeafKind::Cake && leaf.cake.rttUs == kCakeDefaultRttUs) {
    if (const auto rtt = lowRateCakeRttUs(maxMbps)) {
      leaf.cake.rttUs = *rtt;
    }
  }
  return leaf;
}

LeafSpec fqCodelLeaf() {
  LeafSpec leaf;
  leaf.kind = LeafKind::FqCodel;
  return leaf;
}

}  // namespace

LeafRules LeafRules::fromConfig(const config::Config& config) {
  LeafRules rules;
  rules.defaultLeaf = config.defaultLeaf;
  rules.defaultLeaf.handleMajor = 0;
  rules.fastQueuesFqCodelMbps = config.queues.fastQueuesFqCodel;
  return rules;
}

std::optional<LeafSpec> selectCircuitLeaf(const LeafRules& rules, model::SqmKind requested,
                                          double maxMbps) {
  switch (requested) {
    case model::SqmKind::None:
      return std::nullopt;
    case model::SqmKind::FqCodel:
      return fqCodelLeaf();
    case model::SqmKind::Cake: {
      LeafSpec cake;
      cake.kind = LeafKind::Cake;
      if (rules.defaultLeaf.kind == LeafKind::Cake) {
        cake.cake = rules.defaultLeaf.cake;
      }
      return withLowRateRtt(cake, maxMbps);
    }
    case model::SqmKind::Default:
      break;
  }
  if (rules.fastQueuesFqCodelMbps && maxMbps >= *rules.fastQueuesFqCodelMbps) {
    return fqCodelLeaf();
  }
  if (rules.defaultLeaf.kind == LeafKind::None) {
    return std::nullopt;
  }
  return withLowRateRtt(rules.defaultLeaf, maxMbps);
}

std::optional<LeafSpec> selectDefaultClassLeaf(const LeafRules& rules) {
  if (rules.defaultLeaf.kind == LeafKind::None) {
    return std::nullopt;
  }
  return rules.defaultLeaf;
}

}  // namespace sluice::plan
