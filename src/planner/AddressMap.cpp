// The data plane's address map (PlanTree.h: buildAddressMap).

#include <algorithm>
#include <cstring>

#include "planner/PlanTree.h"

namespace sluice::plan::detail {

void buildAddressMap(const model::Model& model, QueuePlan& plan) {
  const auto& circuits = model.shaped.circuits;
  plan.addresses.clear();
  plan.addresses.reserve(model.shaped.addressCount());
  for (size_t i = 0; i < circuits.size(); ++i) {
    const CircuitPlacement& placed = plan.circuits[i];
    AddressMapping mapping;
    mapping.circuit = static_cast<int32_t>(i);
    mapping.queue = placed.queue;
    mapping.cpu = plan.queueCpu[placed.queue];
    mapping.downClass = placed.downClass;
    mapping.upClass = placed.upClass;
    for (const model::Device& device : circuits[i].devices) {
      for (const IpNet& net : device.ipv4) {
        mapping.prefix = net;
        plan.addresses.push_back(mapping);
      }
      for (const IpNet& net : device.ipv6) {
        mapping.prefix = net;
        plan.addresses.push_back(mapping);
      }
    }
  }
  // Sorted by address bytes, then prefix length, then circuit (validated input has no duplicates;
  // the circuit tie-break keeps the order total anyway).
  std::sort(plan.addresses.begin(), plan.addresses.end(),
            [](const AddressMapping& a, const AddressMapping& b) {
              if (const int c = std::memcmp(a.prefix.addr.data(), b.prefix.addr.data(), 16);
                  c != 0) {
                return c < 0;
              }
              if (a.prefix.prefixLen != b.prefix.prefixLen) {
                return a.prefix.prefixLen < b.prefix.prefixLen;
              }
              return a.circuit < b.circuit;
            });
}

}  // namespace sluice::plan::detail
