#pragma once
// Fixtures as data (katran's lib/testing style): each fixture is a list of packets with the
// hook and port they go through and what must come out, plus the statistics deltas and optional
// map checks of the whole sequence. FixturesTest.cpp runs them; bench/bpf reuses the packets.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "abi/sluice_abi.h"
#include "dataplane/BpfMapWriter.h"
#include "dataplane/Dataplane.h"
#include "TestRun.h"

namespace sluice::bpftest {

enum class Mode { Bridge, Stick };
enum class Hook { Xdp, Tc };
/// Bridge: the port a packet arrives on (XDP) or leaves through (tc). Stick: the one interface
/// (sl-inet); the VLAN tag in the packet decides. Other: an interface the config does not name.
enum class Port { Internet, Network, Other };

/// What a fixture step can touch besides packets.
struct Env {
  dataplane::Dataplane* dp = nullptr;
  dataplane::BpfMapWriter* writer = nullptr;
  Lab lab;
};

struct Step {
  Hook hook = Hook::Xdp;
  Port port = Port::Internet;
  std::vector<uint8_t> packet;
  int verdict = 0;                      ///< XDP_* or TC_ACT_*
  std::optional<uint32_t> classid;      ///< XDP: metadata classid (nullopt: no metadata);
                                        ///< tc: skb->priority (queue_mapping = its major)
  std::optional<uint32_t> cpu;          ///< XDP metadata CPU
  std::function<void(Env&)> before;     ///< map changes made before this packet
};

struct Fixture {
  std::string name;
  Mode mode = Mode::Bridge;
  std::vector<Step> steps;
  std::map<int, uint64_t> statDeltas;   ///< sluice_stat -> exact increment over all steps
  std::function<void(Env&)> check;      ///< extra assertions on maps after the last step
};

/// gtest prints a fixture by its name (test names and failure messages).
inline void PrintTo(const Fixture& f, std::ostream* os) { *os << f.name; }

/// Builds the fixture list (slotFixtures() included).
std::vector<Fixture> allFixtures();
/// The host-slot fixtures (SlotFixtures.cpp).
std::vector<Fixture> slotFixtures();

/// Mappings every fixture starts with (see Fixtures.cpp for the table).
std::vector<plan::AddressMapping> baseMappings();

/// Runtime config of every fixture: two queues, on CPUs 0 and 1.
inline constexpr uint32_t kQueues = 2;

}  // namespace sluice::bpftest
