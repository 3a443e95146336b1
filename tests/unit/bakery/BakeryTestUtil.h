#pragma once
// Shared pieces of the bakery's unit tests: a small ISP built with the planner's ModelBuilder,
// planned like sluiced plans it, and a map writer that checks "no mapping points at a missing
// class" after every write.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "PlannerTestUtil.h"
#include "bakery/Bakery.h"
#include "bakery/ModelOpRunner.h"
#include "dataplane/RecordingMapWriter.h"

namespace sluice::bakery::testing {

/// Two sites with two APs each and `circuits` circuits c0.. spread over the APs, one IPv4
/// address each (100.64.0.k), 2 queues, bridge mode, CAKE leaves.
model::Model smallIsp(int circuits);

/// Plans `model` (2 tx queues, 2 CPUs, bridgeConfig with `linkMbps` as both downlink and uplink
/// bandwidth); throws when the planner fails.
plan::QueuePlan planOf(const model::Model& model, double linkMbps = 1000);

/// Adds circuit `id` under `parent` with one address at position `index` of the circuit list.
void insertCircuit(model::Model& m, size_t index, const std::string& id, const std::string& parent,
                   double downMax, double upMax, const std::string& address);
/// Removes circuit `id` (and rebuilds the byId index).
void eraseCircuit(model::Model& m, const std::string& id);

/// A RecordingMapWriter that calls `check` after every successful write.
class CheckingMapWriter final : public dataplane::MapWriter {
 public:
  std::function<void()> check;
  dataplane::RecordingMapWriter inner;

  Result<uint32_t> publish(std::span<const plan::AddressMapping> mappings) override {
    auto r = inner.publish(mappings);
    if (r && check) check();
    return r;
  }
  Result<uint32_t> update(std::span<const plan::AddressMapping> upserts,
                          std::span<const IpNet> removals) override {
    auto r = inner.update(upserts, removals);
    if (r && check) check();
    return r;
  }
  Result<uint32_t> bumpEpoch() override { return inner.bumpEpoch(); }
};

/// A fresh temporary state directory, removed in the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// The first difference between two plans (every field of every class, leaf, placement and
/// mapping), or "" when they are equal.
std::string planDifference(const plan::QueuePlan& a, const plan::QueuePlan& b);

/// Every mapping of `writer` points at classes that exist in `runner` (download class on a
/// download queue, upload class on an upload queue); the first violation, or "".
std::string danglingMapping(const dataplane::RecordingMapWriter& writer,
                            const ModelOpRunner& runner);

}  // namespace sluice::bakery::testing
