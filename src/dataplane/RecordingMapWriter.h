#pragma once
// A MapWriter without a kernel: keeps the mapping table in memory and records every call, for
// control-plane unit tests ("did the bakery publish these 3 prefixes and bump once?").

#include <map>
#include <set>
#include <vector>

#include "dataplane/MapWriter.h"

namespace sluice::dataplane {

class RecordingMapWriter final : public MapWriter {
 public:
  enum class CallKind { Publish, Update, BumpEpoch };
  struct Call {
    CallKind kind;
    std::vector<plan::AddressMapping> mappings;  ///< Publish: all; Update: upserts
    std::vector<IpNet> removals;                 ///< Update only
  };

  Result<uint32_t> publish(std::span<const plan::AddressMapping> mappings) override {
    std::map<IpNet, plan::AddressMapping> next;
    for (const auto& m : mappings) {
      if (!next.emplace(m.prefix, m).second) {
        return makeError(EINVAL, "duplicate prefix " + m.prefix.toString());
      }
    }
    table_ = std::move(next);
    calls_.push_back({CallKind::Publish, {mappings.begin(), mappings.end()}, {}});
    return ++epoch_;
  }

  Result<uint32_t> update(std::span<const plan::AddressMapping> upserts,
                          std::span<const IpNet> removals) override {
    std::set<IpNet> seen;
    for (const auto& m : upserts) {
      if (!seen.insert(m.prefix).second) {
        return makeError(EINVAL, "duplicate prefix " + m.prefix.toString());
      }
    }
    for (const auto& m : upserts) {
      table_[m.prefix] = m;
    }
    for (const auto& p : removals) {
      table_.erase(p);
    }
    calls_.push_back({CallKind::Update, {upserts.begin(), upserts.end()},
                      {removals.begin(), removals.end()}});
    return ++epoch_;
  }

  Result<uint32_t> bumpEpoch() override {
    calls_.push_back({CallKind::BumpEpoch, {}, {}});
    return ++epoch_;
  }

  /// The table as the data plane would now see it.
  const std::map<IpNet, plan::AddressMapping>& table() const { return table_; }
  const std::vector<Call>& calls() const { return calls_; }
  uint32_t epoch() const { return epoch_; }

 private:
  std::map<IpNet, plan::AddressMapping> table_;
  std::vector<Call> calls_;
  uint32_t epoch_ = 0;
};

}  // namespace sluice::dataplane
