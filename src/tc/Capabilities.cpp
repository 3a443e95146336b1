// Leaf-kind capability probe (see Applier.h probeLeafCapabilities).

#include <unistd.h>

#include <algorithm>
#include <atomic>

#include <fmt/format.h>

#include "netlink/Link.h"
#include "tc/Applier.h"
#include "tc/Cake.h"
#include "tc/Fifo.h"
#include "tc/FqCodel.h"
#include "tc/Htb.h"
#include "tc/Mq.h"
#include "tc/Tbf.h"

namespace sluice::tc {
namespace {

std::atomic<uint32_t> gProbeCounter{0};

}  // namespace

bool LeafCapabilities::supports(plan::LeafKind kind) const {
  switch (kind) {
    case plan::LeafKind::Cake:
      return cake;
    case plan::LeafKind::FqCodel:
      return fqCodel;
    case plan::LeafKind::Pfifo:
      return pfifo;
    case plan::LeafKind::Bfifo:
      return bfifo;
    case plan::LeafKind::None:
      return true;
  }
  return false;
}

std::optional<plan::LeafKind> parseLeafKind(std::string_view name) {
  if (name == "cake") {
    return plan::LeafKind::Cake;
  }
  if (name == "fq_codel") {
    return plan::LeafKind::FqCodel;
  }
  if (name == "pfifo") {
    return plan::LeafKind::Pfifo;
  }
  if (name == "bfifo") {
    return plan::LeafKind::Bfifo;
  }
  if (name == "none") {
    return plan::LeafKind::None;
  }
  return std::nullopt;
}

Result<FallbackReport> applyLeafFallback(plan::QueuePlan& plan, const LeafCapabilities& caps,
                                         std::optional<plan::LeafKind> fallback) {
  FallbackReport report;
  if (plan.holder == plan::HolderKind::Tbf && !caps.tbf) {
    std::string why = "the kernel has no tbf qdisc";
    for (const auto& n : caps.notes) {
      if (n.starts_with("tbf: ")) {
        why = n;
      }
    }
    report.holderDropped = fmt::format(
        "queue_holder = \"tbf\" but {}; the HTB qdiscs sit directly under mq, so rebuilds and "
        "queue count changes drop packets on every tx queue",
        why);
    plan::setHolder(plan, plan::HolderKind::None);
  }
  for (const auto& iface : plan.interfaces) {
    for (const auto& q : iface.queues) {
      for (const auto& cls : q.classes) {
        if (cls.leaf && !caps.supports(cls.leaf->kind) &&
            std::find(report.missing.begin(), report.missing.end(), cls.leaf->kind) ==
                report.missing.end()) {
          report.missing.push_back(cls.leaf->kind);
        }
      }
    }
  }
  if (report.missing.empty()) {
    return report;
  }
  std::string kinds;
  for (auto k : report.missing) {
    kinds += fmt::format("{}{}", kinds.empty() ? "" : ", ", leafKindName(k));
  }
  std::string notes;
  for (const auto& n : caps.notes) {
    notes += fmt::format("{}{}", notes.empty() ? "" : "; ", n);
  }
  if (!fallback) {
    return makeError(EOPNOTSUPP,
                     fmt::format("the running kernel lacks leaf qdisc kind(s) {} and no fallback "
                                 "is configured ([sluice] leaf_fallback)", kinds),
                     notes);
  }
  if (!caps.supports(*fallback)) {
    return makeError(EOPNOTSUPP,
                     fmt::format("the running kernel lacks leaf qdisc kind(s) {} and the fallback "
                                 "{} too", kinds, leafKindName(*fallback)),
                     notes);
  }
  for (auto& iface : plan.interfaces) {
    for (auto& q : iface.queues) {
      for (auto& cls : q.classes) {
        if (cls.leaf && !caps.supports(cls.leaf->kind)) {
          cls.leaf->kind = *fallback;
          cls.leaf->fifoLimit = 0;
          ++report.replacedLeaves;
        }
      }
    }
  }
  return report;
}

Result<LeafCapabilities> probeLeafCapabilities(netlink::Socket& socket) {
  const std::string name = fmt::format("slp{}-{}", ::getpid() % 100000, gProbeCounter++);
  const std::string peer = name + "p";
  {
    if (auto r = netlink::addVethPair(socket, name, peer, 2); !r) {
      Error e = r.error();
      e.context = "leaf capability probe: " + e.context;
      return std::unexpected(e);
    }
  }
  auto index = socket.linkIndex(name);
  if (!index) {
    return std::unexpected(index.error());
  }
  LeafCapabilities caps;
  const TcTarget root{*index, name, makeHandle(1, 0), kRootParent};
  const auto tryKind = [&](std::string_view kind, bool& flag, auto&& encode) {
    netlink::Batch b;
    encode(b);
    auto r = socket.execute(b);
    flag = r.has_value();
    if (!flag) {
      caps.notes.push_back(fmt::format("{}: {}", kind, r.error().message()));
    }
    netlink::Batch del;
    encodeQdiscDelete(del, TcTarget{*index, name, 0, kRootParent});
    (void)socket.execute(del);  // ENOENT when the add failed: nothing to clean up
  };
  tryKind("htb", caps.htb, [&](auto& b) {
    encodeHtbQdisc(b, Verb::Add, root, HtbQdiscOptions{10, 2, std::nullopt});
  });
  tryKind("mq", caps.mq, [&](auto& b) {
    encodeMq(b, Verb::Add, TcTarget{*index, name, makeHandle(0x7FFF, 0), kRootParent});
  });
  tryKind("tbf", caps.tbf, [&](auto& b) {
    encodeTbf(b, Verb::Add, root,
              TbfOptions{plan::kHolderRateBitsPerSecond, plan::kHolderBurstBytes, 0});
  });
  tryKind("cake", caps.cake, [&](auto& b) { encodeCake(b, Verb::Add, root, plan::CakeParams{}); });
  tryKind("fq_codel", caps.fqCodel,
          [&](auto& b) { encodeFqCodel(b, Verb::Add, root, plan::FqCodelParams{}); });
  tryKind("pfifo", caps.pfifo,
          [&](auto& b) { encodeFifo(b, Verb::Add, root, FifoKind::Packets, 0); });
  tryKind("bfifo", caps.bfifo,
          [&](auto& b) { encodeFifo(b, Verb::Add, root, FifoKind::Bytes, 0); });
  if (auto r = netlink::deleteLink(socket, name); !r) {
    return std::unexpected(r.error());
  }
  return caps;
}

Result<LeafCapabilities> probeLeafCapabilities() {
  auto socket = netlink::openInPrivateNamespace();
  if (!socket) {
    Error e = socket.error();
    e.context = "leaf capability probe: " + e.context;
    return std::unexpected(e);
  }
  return probeLeafCapabilities(*socket);
}

}  // namespace sluice::tc
