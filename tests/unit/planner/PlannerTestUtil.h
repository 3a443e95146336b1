#pragma once
// Building models and configs in code for the planner's unit tests.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/Diagnostics.h"
#include "config/Config.h"
#include "model/Model.h"
#include "planner/Planner.h"
#include "planner/QueuePlan.h"

namespace sluice::plan::testing {

/// A Model assembled node by node and circuit by circuit (parents must be added first).
class ModelBuilder {
 public:
  ModelBuilder& node(const std::string& name, double down, double up,
                     const std::string& parent = "", bool isVirtual = false);
  /// One circuit with one device holding `addresses` (IPv4 or IPv6 text, host or CIDR).
  ModelBuilder& circuit(const std::string& id, const std::string& parent, double downMin,
                        double upMin, double downMax, double upMax,
                        std::vector<std::string> addresses = {}, model::SqmOverride sqm = {});
  const model::Model& model() const { return model_; }
  model::Model& model() { return model_; }

 private:
  model::Model model_;
};

/// A bridge config with a CAKE diffserv4 default leaf and the given link rates.
config::Config bridgeConfig(double downlinkMbps = 1000, double uplinkMbps = 1000);

/// A single-interface (on a stick) config.
config::Config stickConfig(double downlinkMbps = 1000, double uplinkMbps = 1000);

/// buildPlan with the given queues/CPUs; fails the test (returns nullopt) on errors.
std::optional<QueuePlan> plan(const config::Config& config, const model::Model& model,
                              uint32_t txQueues, uint32_t cpus, Diagnostics& diags);

/// The class with this classid in the interface, or nullptr.
const HtbClassPlan* findClass(const QueuePlan& plan, size_t iface, TcHandle classid);

/// Number of diagnostics with this category.
size_t countCategory(const Diagnostics& diags, const std::string& category);

}  // namespace sluice::plan::testing
