// Preflight: does a plan (or two trees side by side) fit the kernel's limits and free memory?

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "bakery/Bakery.h"
#include "tc/Applier.h"

namespace sluice::bakery {
namespace {

// Per-object kernel memory. HTB classes: measured on this kernel (6.18, x86-64) with
// `bench_bakery --measure-memory --objects 10000`: the Slab counter grows 3.7-3.8 KiB per HTB
// leaf class (which includes the default pfifo the kernel gives every new leaf class); replacing
// that default pfifo with our own pfifo/bfifo leaf adds ~0 (the default is freed), so FIFO leaves
// are budgeted at 1 KiB. MemAvailable deltas were too noisy on the shared machine (25-62 KiB per
// class in two rounds) to use. HTB qdiscs: DESIGN §4's 16 KiB (60 objects were lost in the noise).
// CAKE and fq_codel: LibreQoS's planning figures (≈ 512 KiB per CAKE instance, ≈ 64 KiB per
// fq_codel) until measured in the guest kernel.
constexpr uint64_t kHtbQdiscBytes = 16 * 1024;
constexpr uint64_t kHtbClassBytes = 4 * 1024;
constexpr uint64_t kFifoBytes = 1 * 1024;
constexpr uint64_t kCakeBytes = 512 * 1024;
constexpr uint64_t kFqCodelBytes = 64 * 1024;

bool hasLeaf(const plan::HtbClassPlan& cls) {
  return cls.leaf.has_value() && cls.leaf->kind != plan::LeafKind::None;
}

std::string thousands(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) {
    s.insert(static_cast<size_t>(i), ",");
  }
  return s;
}

}  // namespace

uint64_t objectMemoryBytes(std::string_view kind) {
  if (kind == "htb_qdisc") return kHtbQdiscBytes;
  if (kind == "htb_class") return kHtbClassBytes;
  if (kind == "pfifo" || kind == "bfifo") return kFifoBytes;
  if (kind == "cake") return kCakeBytes;
  if (kind == "fq_codel") return kFqCodelBytes;
  return 0;
}

MemoryEstimate estimateMemory(const plan::QueuePlan& plan) {
  MemoryEstimate est;
  const auto add = [&](std::string_view kind, uint64_t n) {
    if (n == 0 || kind.empty()) {
      return;
    }
    const uint64_t bytes = n * objectMemoryBytes(kind);
    est.perKindBytes[std::string(kind)] += bytes;
    est.bytes += bytes;
  };
  // Counted per kind first: one map update per kind, not per class.
  uint64_t htbQdiscs = 0;
  uint64_t htbClasses = 0;
  std::array<uint64_t, static_cast<size_t>(plan::LeafKind::None) + 1> leaves{};
  for (const auto& iface : plan.interfaces) {
    htbQdiscs += iface.queues.size();
    for (const auto& q : iface.queues) {
      htbClasses += q.classes.size();
      for (const auto& cls : q.classes) {
        if (hasLeaf(cls)) {
          ++leaves[static_cast<size_t>(cls.leaf->kind)];
        }
      }
    }
  }
  add("htb_qdisc", htbQdiscs);
  add("htb_class", htbClasses);
  for (size_t k = 0; k < leaves.size(); ++k) {
    if (leaves[k] > 0) {
      add(tc::leafKindName(static_cast<plan::LeafKind>(k)), leaves[k]);
    }
  }
  return est;
}

Result<void> preflight(const plan::QueuePlan& desired, const Limits& limits,
                       const plan::QueuePlan* active, bool twoTrees) {
  const plan::QueuePlan empty;
  const plan::QueuePlan& old = active != nullptr ? *active : empty;

  // Qdiscs per device: mq + HTB qdiscs + leaves, the union of both trees when they coexist.
  // Minors per HTB qdisc likewise.
  // A u16 number space as a bitmap with a count (std::set of 60k handles cost tens of ms).
  struct Numbers {
    std::vector<bool> taken = std::vector<bool>(0x10000, false);
    size_t count = 0;
    void insert(uint16_t n) {
      if (!taken[n]) {
        taken[n] = true;
        ++count;
      }
    }
    size_t size() const { return count; }
  };
  std::map<std::string, Numbers> qdiscs;
  std::map<std::pair<std::string, uint16_t>, Numbers> minors;
  const auto count = [&](const plan::QueuePlan& p) {
    for (const auto& iface : p.interfaces) {
      auto& handles = qdiscs[iface.ifname];
      handles.insert(plan::kMqMajor);
      if (plan::interfaceHolder(iface) != plan::HolderKind::None) {
        for (uint32_t t = 0; t < plan::kMaxHolderTxQueues; ++t) {
          handles.insert(plan::holderMajorOf(static_cast<uint16_t>(t)));
        }
      }
      for (const auto& q : iface.queues) {
        handles.insert(q.major);
        auto& m = minors[{iface.ifname, q.major}];
        for (const auto& cls : q.classes) {
          m.insert(cls.classid.minor);
          if (hasLeaf(cls)) {
            handles.insert(cls.leaf->handleMajor);
          }
        }
      }
    }
  };
  count(desired);
  // Incremental applies add before they delete, so both trees' objects coexist for a moment.
  count(old);
  const char* when = twoTrees ? " with the old tree beside it" : "";
  for (const auto& [ifname, handles] : qdiscs) {
    if (handles.size() > limits.maxQdiscsPerInterface) {
      return makeError(ENOSPC, "preflight",
                       fmt::format("interface {} needs {} qdiscs{}; the kernel allows {}", ifname,
                                   thousands(handles.size()), when,
                                   thousands(limits.maxQdiscsPerInterface)));
    }
  }
  for (const auto& [key, m] : minors) {
    if (m.size() > limits.maxMinorsPerQueue) {
      return makeError(ENOSPC, "preflight",
                       fmt::format("HTB qdisc {:x}: on {} needs {} class minors{}; a queue has {}",
                                   key.second, key.first, thousands(m.size()), when,
                                   thousands(limits.maxMinorsPerQueue)));
    }
  }
  if (limits.lpmCapacity != 0) {
    // The union of both prefix lists (upserts go in before removals).
    std::vector<IpNet> prefixes;
    prefixes.reserve(desired.addresses.size() + old.addresses.size());
    for (const auto& m : desired.addresses) {
      prefixes.push_back(m.prefix);
    }
    const size_t need = desired.addresses.size();
    for (const auto& m : old.addresses) {
      prefixes.push_back(m.prefix);
    }
    std::sort(prefixes.begin(), prefixes.end());
    prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
    if (prefixes.size() > limits.lpmCapacity) {
      return makeError(ENOSPC, "preflight",
                       fmt::format("the address map needs {} entries ({} planned, {} during the "
                                   "switch); its capacity is {}",
                                   thousands(prefixes.size()), thousands(need),
                                   thousands(prefixes.size()), thousands(limits.lpmCapacity)));
    }
  }
  // Memory: what the new objects add (all of the desired tree in a rebuild).
  const MemoryEstimate want = estimateMemory(desired);
  const MemoryEstimate have = estimateMemory(old);
  uint64_t need = want.bytes;
  if (!twoTrees && active != nullptr) {
    need = want.bytes > have.bytes ? want.bytes - have.bytes : 0;
  }
  if (need > 0) {
    auto avail = memoryAvailable(limits);
    if (!avail) {
      return std::unexpected(avail.error());
    }
    if (*avail < need + limits.memoryReserveBytes) {
      std::string kinds;
      for (const auto& [kind, bytes] : want.perKindBytes) {
        kinds += fmt::format("{}{} {} MiB", kinds.empty() ? "" : ", ", kind, bytes >> 20);
      }
      return makeError(ENOMEM, "preflight",
                       fmt::format("the tree{} needs about {} MiB more kernel memory ({}); {} MiB "
                                   "are available and {} MiB stay in reserve",
                                   when, need >> 20, kinds, *avail >> 20,
                                   limits.memoryReserveBytes >> 20));
    }
  }
  return {};
}

}  // namespace sluice::bakery
