#pragma once
// The queue plan: everything Sluice will put in the kernel, as a plain value with no kernel
// access, so that the bakery can diff two plans and the tc backend can apply one.
//
// Shape of the tree per interface (DESIGN §1):
//
//   7FFF: mq
//    ├─ 7FFF:1 ── 1: htb default 2        (tx queue 0)
//    │            ├─ 1:1  link rate        (ClassRole::Link)
//    │            │   ├─ 1:2  default class (ClassRole::Default, prio 5, unknown traffic)
//    │            │   ├─ 1:3  site         (ClassRole::Node, prio 3)
//    │            │   │   └─ 1:5 circuit   (ClassRole::Circuit, prio 3) ── leaf qdisc N:
//    │            │   └─ ...
//    ├─ 7FFF:2 ── 2: htb default 2        (tx queue 1)
//    ...
//
// On a stick both directions share one interface: download uses HTB majors 1..Q on tx queues
// 0..Q-1, upload uses majors Q+1..2Q on tx queues Q..2Q-1.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/IpNet.h"

namespace sluice::plan {

enum class Direction : uint8_t { Download, Upload };

/// A tc handle / classid "major:minor" (both printed in hex, as tc does).
struct TcHandle {
  uint16_t major = 0;
  uint16_t minor = 0;

  constexpr uint32_t raw() const { return (static_cast<uint32_t>(major) << 16) | minor; }
  static constexpr TcHandle fromRaw(uint32_t raw) {
    return TcHandle{static_cast<uint16_t>(raw >> 16), static_cast<uint16_t>(raw & 0xFFFF)};
  }
  /// "7fff:" for a qdisc handle (minor 0), "1:a" for a class.
  std::string toString() const;
  auto operator<=>(const TcHandle&) const = default;
};

inline constexpr uint16_t kMqMajor = 0x7FFF;
/// Tx queues a holder qdisc level covers: holder majors kMqMajor-1 down to kMqMajor-kMaxHolderTxQueues.
inline constexpr uint32_t kMaxHolderTxQueues = 256;
inline constexpr uint16_t kLinkMinor = 1;
inline constexpr uint16_t kDefaultMinor = 2;
inline constexpr uint16_t kFirstFreeMinor = 3;

enum class LeafKind : uint8_t {
  Cake,
  FqCodel,
  Pfifo,
  Bfifo,
  None,  ///< no leaf qdisc is created (HTB's implicit default)
};

enum class CakeDiffserv : uint8_t { Besteffort, Diffserv3, Diffserv4, Diffserv8, Precedence };

/// The tc keyword of a CAKE diffserv mode ("besteffort", "diffserv3", ... as tc-cake(8) spells it).
const char* cakeDiffservName(CakeDiffserv mode);

/// CAKE options (iproute2 tc-cake(8); kernel include/uapi/linux/pkt_sched.h TCA_CAKE_*).
struct CakeParams {
  uint64_t bandwidthBitsPerSecond = 0;  ///< 0 = unlimited: HTB does the shaping
  CakeDiffserv diffserv = CakeDiffserv::Diffserv4;
  uint32_t rttUs = 100'000;  ///< CAKE's default 100 ms; longer for low rates (DESIGN §4)
  bool ackFilter = false;
  bool nat = false;
  bool wash = false;
  bool splitGso = true;
  std::optional<int32_t> overheadBytes;
  std::optional<uint32_t> mpuBytes;
  std::optional<uint32_t> memlimitBytes;
  auto operator<=>(const CakeParams&) const = default;
};

/// fq_codel options (tc-fq_codel(8)); defaults are the kernel's.
struct FqCodelParams {
  uint32_t limitPackets = 10240;
  uint32_t flows = 1024;
  uint32_t targetUs = 5000;
  uint32_t intervalUs = 100'000;
  uint32_t quantumBytes = 1514;
  bool ecn = true;
  uint32_t memoryLimitBytes = 32u << 20;
  auto operator<=>(const FqCodelParams&) const = default;
};

struct LeafSpec {
  LeafKind kind = LeafKind::Cake;
  uint16_t handleMajor = 0;  ///< explicit qdisc handle major (never left to the kernel)
  CakeParams cake;           ///< used when kind == Cake
  FqCodelParams fqCodel;     ///< used when kind == FqCodel
  uint32_t fifoLimit = 0;    ///< Pfifo: packets, Bfifo: bytes; 0 = kernel default
  auto operator<=>(const LeafSpec&) const = default;
};

enum class ClassRole : uint8_t { Link, Default, Node, Circuit };

/// One HTB class.
struct HtbClassPlan {
  TcHandle classid;
  TcHandle parent;  ///< M:0 for the link class, else another class of the same qdisc
  uint64_t rateBitsPerSecond = 0;
  uint64_t ceilBitsPerSecond = 0;
  uint32_t quantumBytes = 1522;
  uint32_t prio = 3;
  ClassRole role = ClassRole::Circuit;
  int32_t modelIndex = -1;  ///< Node: index into QueuePlan::nodes; Circuit: into circuits
  std::optional<LeafSpec> leaf;  ///< circuits (and the default class) carry a leaf
  auto operator<=>(const HtbClassPlan&) const = default;
};

/// What sits between an mq class and the HTB qdisc of its tx queue (`[sluice] queue_holder`).
///
/// Adding or deleting a qdisc directly under an mq class goes through mq_graft, which deactivates
/// the whole device (net/sched/sch_mq.c mq_graft -> dev_deactivate): every tx queue points at
/// noop_qdisc for ~300 us and drops what arrives (measured ~7 packets per graft at 23k packets/s,
/// tools/graft-loss.sh mq). A holder qdisc on every tx queue, created once with the mq root, makes
/// those grafts tbf_graft, which only swaps the child of one queue (0 lost, tools/graft-loss.sh
/// tbf-holder). Its cost is one more qdisc per packet (+~120 ns here, bench/qdisc-holder.sh).
enum class HolderKind : uint8_t {
  None,  ///< HTB qdiscs sit directly under mq (the default)
  Tbf,   ///< a pass-through TBF (kHolderRateBitsPerSecond, kHolderBurstBytes) per tx queue
};
const char* holderKindName(HolderKind kind);  ///< "none", "tbf"

/// The holder TBF's rate: above any one tx queue's line rate, so it never limits.
inline constexpr uint64_t kHolderRateBitsPerSecond = 400'000'000'000ull;
/// The holder TBF's burst (its max_size): TBF segments or drops a packet larger than this
/// (net/sched/sch_tbf.c tbf_enqueue), so it exceeds any GSO packet (64 KB, BIG TCP 512 KB).
inline constexpr uint32_t kHolderBurstBytes = 4u << 20;
/// The holder's child until an HTB qdisc is grafted there: a bfifo of what a default pfifo holds
/// (txqueuelen 1000 packets of 1514 bytes).
inline constexpr uint32_t kHolderFifoBytes = 1000 * 1514;

/// One HTB qdisc under one mq child (one tx queue), classes ordered parents before children.
struct HtbQueuePlan {
  Direction direction = Direction::Download;
  uint16_t txQueue = 0;  ///< 0-based; the mq child is 7FFF:(txQueue+1)
  uint16_t major = 1;    ///< HTB qdisc handle major
  uint32_t r2q = 10;
  uint16_t defaultMinor = kDefaultMinor;
  HolderKind holder = HolderKind::None;  ///< QueuePlan::holder, copied (TcOps carry the queue)
  std::vector<HtbClassPlan> classes;
};

/// The mq class of tx queue `txQueue` (0-based): 7FFF:(txQueue+1).
TcHandle mqClassOf(uint16_t txQueue);
/// The holder qdisc's handle major on tx queue `txQueue` (< kMaxHolderTxQueues): kMqMajor-1-txQueue.
uint16_t holderMajorOf(uint16_t txQueue);
/// Where the HTB qdisc of `q` is grafted: the mq class of its tx queue, or class 1 of the holder
/// qdisc on that tx queue.
TcHandle queueParentOf(const HtbQueuePlan& q);
/// True for a qdisc handle major no HTB qdisc or leaf may take: 0, 0xFFFF (TC_H_ROOT/ingress),
/// the mq root kMqMajor and the holder range below it (reserved whether holders are on or not).
bool isReservedMajor(uint32_t major);
/// Sets used[m] for every reserved major m (`used` has 0x10000 entries; others are left as they are).
void markReservedMajors(std::vector<bool>& used);

/// True when the kernel never reads `q`'s r2q: HTB uses its qdisc's r2q only for a class added or
/// changed without a quantum (net/sched/sch_htb.c htb_change_class: `if (hopt->quantum)
/// cl->quantum = hopt->quantum`; r2q is read nowhere else), and here every class carries one (the
/// planner's always do: HtbMath computeQuantum, >= 1522 bytes). An r2q that differs from the live
/// HTB qdisc's then changes nothing in the kernel's behaviour: the bakery, the applier's replace and
/// the tree comparisons keep the live r2q (HTB cannot change it in place) instead of rebuilding.
bool r2qIsInert(const HtbQueuePlan& q);

/// True when an HTB qdisc whose r2q is `liveR2q` behaves differently from `q`: the values differ
/// and a class of `q` reads r2q (!r2qIsInert). The one test of r2q for every comparison of a plan
/// with a live or active tree (bakery, applier, tree comparisons, kernel model).
bool r2qDiffersInEffect(uint32_t liveR2q, const HtbQueuePlan& q);

struct InterfacePlan {
  std::string ifname;
  std::vector<HtbQueuePlan> queues;  ///< by txQueue
  HolderKind holder = HolderKind::None;  ///< QueuePlan::holder, copied (the applier's view)
};

/// The holder kind of an interface's tx queues (InterfacePlan::holder).
HolderKind interfaceHolder(const InterfacePlan& iface);

/// Sets `holder` on `plan`, its interfaces and every one of its queues.
void setHolder(struct QueuePlan& plan, HolderKind holder);

/// Where one network.json node (or generated parent node) landed.
struct NodePlacement {
  std::string name;
  int32_t modelIndex = -1;  ///< index into model::Network::nodes; -1 for generated nodes
  bool generated = false;
  bool isVirtual = false;   ///< virtual nodes have no class (down/up classid 0:0)
  uint16_t queue = 0;       ///< 0-based shaping queue
  TcHandle downClass;
  TcHandle upClass;
  double downloadMaxMbps = 0;  ///< after fix-ups
  double uploadMaxMbps = 0;
};

/// Where one circuit landed.
struct CircuitPlacement {
  std::string circuitId;
  int32_t modelIndex = -1;  ///< index into model::ShapedDevices::circuits
  int32_t parentPlacement = -1;  ///< index into QueuePlan::nodes
  uint16_t queue = 0;
  TcHandle downClass;
  TcHandle upClass;
  double downloadMinMbps = 0;  ///< after fix-ups (squash, cap)
  double uploadMinMbps = 0;
  double downloadMaxMbps = 0;
  double uploadMaxMbps = 0;
};

/// One entry of the data plane's LPM map: an address or prefix and where its traffic goes.
struct AddressMapping {
  IpNet prefix;
  int32_t circuit = -1;  ///< index into QueuePlan::circuits
  uint16_t queue = 0;    ///< 0-based shaping queue
  uint32_t cpu = 0;      ///< CPU that serves the queue
  TcHandle downClass;
  TcHandle upClass;
  auto operator<=>(const AddressMapping&) const = default;
};

struct QueuePlan {
  uint16_t queueCount = 1;        ///< shaping queues per direction
  std::vector<uint32_t> queueCpu;  ///< queue -> CPU (size queueCount)
  bool onAStick = false;
  /// The holders made with each mq root; also on a plan without queues (observe keeps them).
  HolderKind holder = HolderKind::None;
  std::vector<InterfacePlan> interfaces;  ///< bridge: [to_network (down), to_internet (up)]
  std::vector<NodePlacement> nodes;
  std::vector<CircuitPlacement> circuits;
  std::vector<AddressMapping> addresses;  ///< sorted by prefix
};

}  // namespace sluice::plan
