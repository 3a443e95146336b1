#include "tc/Verify.h"

#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "tc/Applier.h"
#include "tc/Tbf.h"
#include "tc/TcMessage.h"

namespace sluice::tc {
namespace {

std::string diffserv(plan::CakeDiffserv d) { return std::to_string(cakeDiffservValue(d)); }

void compareCake(std::vector<std::string>& out, const std::string& where,
                 const plan::CakeParams& wantRaw, const plan::CakeParams& got) {
  const plan::CakeParams want = normalizeCake(wantRaw);
  auto check = [&](const char* field, auto w, auto g) {
    if (w != g) {
      out.push_back(fmt::format("{}: cake {} is {}, plan says {}", where, field, g, w));
    }
  };
  check("bandwidth (bit/s)", want.bandwidthBitsPerSecond, got.bandwidthBitsPerSecond);
  check("diffserv mode", diffserv(want.diffserv), diffserv(got.diffserv));
  check("rtt (us)", want.rttUs, got.rttUs);
  check("ack-filter", want.ackFilter, got.ackFilter);
  check("nat", want.nat, got.nat);
  check("wash", want.wash, got.wash);
  check("split-gso", want.splitGso, got.splitGso);
  check("overhead", want.overheadBytes.value_or(0), got.overheadBytes.value_or(0));
  check("mpu", want.mpuBytes.value_or(0), got.mpuBytes.value_or(0));
  if (want.memlimitBytes) {
    check("memlimit", *want.memlimitBytes, got.memlimitBytes.value_or(0));
  }
}

void compareFqCodel(std::vector<std::string>& out, const std::string& where,
                    const plan::FqCodelParams& wantRaw, const plan::FqCodelParams& got) {
  const plan::FqCodelParams want = normalizeFqCodel(wantRaw);
  auto check = [&](const char* field, auto w, auto g) {
    if (w != g) {
      out.push_back(fmt::format("{}: fq_codel {} is {}, plan says {}", where, field, g, w));
    }
  };
  check("limit", want.limitPackets, got.limitPackets);
  check("flows", want.flows, got.flows);
  check("target (us)", want.targetUs, got.targetUs);
  check("interval (us)", want.intervalUs, got.intervalUs);
  check("quantum", want.quantumBytes, got.quantumBytes);
  check("ecn", want.ecn, got.ecn);
  check("memory_limit", want.memoryLimitBytes, got.memoryLimitBytes);
}

void compareLeaf(std::vector<std::string>& out, const std::string& classText,
                 const LiveQdisc* leaf, const plan::LeafSpec& want) {
  const std::string wantKind(leafKindName(want.kind));
  if (want.kind == plan::LeafKind::None) {
    return;
  }
  if (leaf == nullptr) {
    out.push_back(fmt::format("class {}: no leaf qdisc, plan says {} handle {:x}:", classText,
                              wantKind, want.handleMajor));
    return;
  }
  const std::string where = fmt::format("leaf {} of class {}", formatHandle(leaf->handle),
                                        classText);
  if (leaf->handle != makeHandle(want.handleMajor, 0)) {
    out.push_back(fmt::format("class {}: leaf handle is {}, plan says {:x}:", classText,
                              formatHandle(leaf->handle), want.handleMajor));
  }
  if (leaf->kind != wantKind) {
    out.push_back(fmt::format("{}: kind is {}, plan says {}", where, leaf->kind, wantKind));
    return;
  }
  switch (want.kind) {
    case plan::LeafKind::Cake:
      if (!leaf->cake) {
        out.push_back(where + ": cake options could not be decoded");
      } else {
        compareCake(out, where, want.cake, *leaf->cake);
      }
      break;
    case plan::LeafKind::FqCodel:
      if (!leaf->fqCodel) {
        out.push_back(where + ": fq_codel options could not be decoded");
      } else {
        compareFqCodel(out, where, want.fqCodel, *leaf->fqCodel);
      }
      break;
    case plan::LeafKind::Pfifo:
    case plan::LeafKind::Bfifo:
      if (want.fifoLimit != 0 && leaf->fifoLimit != want.fifoLimit) {
        out.push_back(fmt::format("{}: limit is {}, plan says {}", where,
                                  leaf->fifoLimit.value_or(0), want.fifoLimit));
      }
      break;
    case plan::LeafKind::None:
      break;
  }
}

}  // namespace

std::vector<std::string> compareTree(const LiveTree& live, const plan::InterfacePlan& plan) {
  std::vector<std::string> out;
  const LiveQdisc* root = live.qdiscAt(kRootParent);
  if (root == nullptr || root->kind != "mq" || root->handle != makeHandle(plan::kMqMajor, 0)) {
    out.push_back(fmt::format("dev {}: root is {} {}, plan says mq 7fff:", plan.ifname,
                              root ? root->kind : "nothing",
                              root ? formatHandle(root->handle) : ""));
  }
  std::unordered_map<uint32_t, const LiveClass*> classes;
  for (const auto& c : live.classes) {
    classes.emplace(c.classid, &c);
  }
  std::unordered_map<uint32_t, const LiveQdisc*> byParent;
  for (const auto& q : live.qdiscs) {
    byParent.emplace(q.parent, &q);
  }
  // Holders: on every tx queue of the device (spare ones too: a rebuild grafts there), none
  // without them in the plan.
  for (const auto& q : live.qdiscs) {
    const auto minor = static_cast<uint16_t>(q.parent & 0xFFFF);
    if (q.parent == kRootParent || q.parent >> 16 != plan::kMqMajor || minor == 0 ||
        minor > plan::kMaxHolderTxQueues) {
      continue;
    }
    const uint16_t tx = minor - 1;
    const bool isHolder = isHolderOf(q.kind, q.handle, tx);
    if (plan::interfaceHolder(plan) == plan::HolderKind::Tbf && !isHolder) {
      out.push_back(fmt::format("tx queue {}: qdisc under {} is {} {}, plan says holder tbf {}",
                                tx, formatHandle(q.parent), q.kind, formatHandle(q.handle),
                                formatHandle(makeHandle(plan::holderMajorOf(tx), 0))));
    } else if (plan::interfaceHolder(plan) == plan::HolderKind::None && isHolder) {
      out.push_back(fmt::format("tx queue {}: holder tbf {} under {}, plan says none", tx,
                                formatHandle(q.handle), formatHandle(q.parent)));
    }
  }
  std::unordered_set<uint32_t> plannedClasses;
  std::unordered_set<uint32_t> plannedMajors;
  for (const auto& q : plan.queues) {
    plannedMajors.insert(q.major);
    const uint32_t parent = plan::queueParentOf(q).raw();
    auto it = byParent.find(parent);
    const LiveQdisc* htb = it == byParent.end() ? nullptr : it->second;
    if (htb == nullptr || htb->kind != "htb" || htb->handle != makeHandle(q.major, 0)) {
      out.push_back(fmt::format("tx queue {}: qdisc under {} is {} {}, plan says htb {:x}:",
                                q.txQueue, formatHandle(parent), htb ? htb->kind : "nothing",
                                htb ? formatHandle(htb->handle) : "", q.major));
    } else if (!htb->htb || plan::r2qDiffersInEffect(htb->htb->r2q, q) ||
               htb->htb->defaultMinor != q.defaultMinor) {
      out.push_back(fmt::format("htb {:x}: r2q/default are {}/{:x}, plan says {}/{:x}", q.major,
                                htb->htb ? htb->htb->r2q : 0,
                                htb->htb ? htb->htb->defaultMinor : 0, q.r2q, q.defaultMinor));
    }
    for (const auto& cls : q.classes) {
      plannedClasses.insert(cls.classid.raw());
      const std::string text = formatHandle(cls.classid.raw());
      auto ci = classes.find(cls.classid.raw());
      if (ci == classes.end()) {
        out.push_back(fmt::format("class {}: missing", text));
        continue;
      }
      const LiveClass& c = *ci->second;
      if (c.parent != cls.parent.raw()) {
        out.push_back(fmt::format("class {}: parent is {}, plan says {}", text,
                                  formatHandle(c.parent), formatHandle(cls.parent.raw())));
      }
      if (!c.htb) {
        out.push_back(fmt::format("class {}: no htb options", text));
        continue;
      }
      auto check = [&](const char* field, uint64_t want, uint64_t got) {
        if (want != got) {
          out.push_back(fmt::format("class {}: {} is {}, plan says {}", text, field, got, want));
        }
      };
      check("rate (bytes/s)", cls.rateBitsPerSecond / 8, c.htb->rateBytesPerSec);
      check("ceil (bytes/s)", cls.ceilBitsPerSecond / 8, c.htb->ceilBytesPerSec);
      check("quantum", cls.quantumBytes, c.htb->quantumBytes);
      check("prio", cls.prio, c.htb->prio);
      auto li = byParent.find(cls.classid.raw());
      const LiveQdisc* leaf = li == byParent.end() ? nullptr : li->second;
      if (cls.leaf) {
        compareLeaf(out, text, leaf, *cls.leaf);
      } else if (leaf != nullptr) {
        out.push_back(fmt::format("class {}: has leaf {} {}, plan has none", text, leaf->kind,
                                  formatHandle(leaf->handle)));
      }
    }
  }
  for (const auto& c : live.classes) {
    if (plannedMajors.contains(c.classid >> 16) && !plannedClasses.contains(c.classid)) {
      out.push_back(fmt::format("class {}: exists, not in the plan", formatHandle(c.classid)));
    }
  }
  return out;
}

}  // namespace sluice::tc
