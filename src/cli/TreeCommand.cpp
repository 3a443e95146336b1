// sluice tree: the live queue tree of one interface, read back through netlink, with statistics.

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/Commands.h"
#include "netlink/Socket.h"
#include "tc/LiveTree.h"
#include "tc/TcMessage.h"

namespace sluice::cli {
namespace {

struct TreeOptions {
  std::string dev;
  std::string netns;
  bool json = false;
};

std::string rate(uint64_t bytesPerSec) {
  const double bits = static_cast<double>(bytesPerSec) * 8;
  if (bits >= 1e9) {
    return fmt::format("{:g}Gbit", bits / 1e9);
  }
  if (bits >= 1e6) {
    return fmt::format("{:g}Mbit", bits / 1e6);
  }
  if (bits >= 1e3) {
    return fmt::format("{:g}Kbit", bits / 1e3);
  }
  return fmt::format("{:g}bit", bits);
}

std::string statsText(const netlink::TcStats& s) {
  return fmt::format("sent {} bytes {} pkt (dropped {}, overlimits {} requeues {}) backlog {}b {}p",
                     s.bytes, s.packets, s.drops, s.overlimits, s.requeues, s.backlogBytes,
                     s.qlen);
}

nlohmann::json statsJson(const netlink::TcStats& s) {
  return {{"bytes", s.bytes},     {"packets", s.packets},       {"drops", s.drops},
          {"overlimits", s.overlimits}, {"requeues", s.requeues}, {"backlog_bytes", s.backlogBytes},
          {"qlen", s.qlen}};
}

std::string cakeText(const plan::CakeParams& c) {
  static const char* kModes[] = {"besteffort", "diffserv3", "diffserv4", "diffserv8",
                                 "precedence"};
  return fmt::format("bandwidth {} {} rtt {}us {} {} {} {} overhead {} mpu {}",
                     c.bandwidthBitsPerSecond ? rate(c.bandwidthBitsPerSecond / 8) : "unlimited",
                     kModes[static_cast<int>(c.diffserv)], c.rttUs,
                     c.ackFilter ? "ack-filter" : "no-ack-filter", c.nat ? "nat" : "nonat",
                     c.wash ? "wash" : "nowash", c.splitGso ? "split-gso" : "no-split-gso",
                     c.overheadBytes.value_or(0), c.mpuBytes.value_or(0));
}

std::string qdiscText(const tc::LiveQdisc& q) {
  std::string text = fmt::format("qdisc {} {} parent {}", q.kind, tc::formatHandle(q.handle),
                                 tc::formatHandle(q.parent));
  if (q.htb) {
    text += fmt::format(" r2q {} default {:x}", q.htb->r2q, q.htb->defaultMinor);
  }
  if (q.cake) {
    text += " " + cakeText(*q.cake);
  }
  if (q.fqCodel) {
    const auto& f = *q.fqCodel;
    text += fmt::format(" limit {}p flows {} quantum {} target {}us interval {}us memory_limit {} {}",
                        f.limitPackets, f.flows, f.quantumBytes, f.targetUs, f.intervalUs,
                        f.memoryLimitBytes, f.ecn ? "ecn" : "noecn");
  }
  if (q.fifoLimit) {
    text += fmt::format(" limit {}", *q.fifoLimit);
  }
  return text + "  " + statsText(q.stats);
}

std::string classText(const tc::LiveClass& c) {
  std::string text = fmt::format("class {} {} parent {}", c.kind, tc::formatHandle(c.classid),
                                 tc::formatHandle(c.parent));
  if (c.htb) {
    text += fmt::format(" rate {} ceil {} quantum {} prio {}", rate(c.htb->rateBytesPerSec),
                        rate(c.htb->ceilBytesPerSec), c.htb->quantumBytes, c.htb->prio);
  }
  text += "  " + statsText(c.stats);
  if (c.htbXstats) {
    text += fmt::format(" tokens {} ctokens {}", c.htbXstats->tokens, c.htbXstats->ctokens);
  }
  return text;
}

void printText(const tc::LiveTree& tree) {
  std::multimap<uint32_t, const tc::LiveQdisc*> qdiscsByParent;
  std::multimap<uint32_t, const tc::LiveClass*> classesByParent;
  for (const auto& q : tree.qdiscs) {
    qdiscsByParent.emplace(q.parent, &q);
  }
  for (const auto& c : tree.classes) {
    classesByParent.emplace(c.parent, &c);
  }
  std::function<void(uint32_t, int)> printClassChildren;
  std::function<void(const tc::LiveQdisc&, int)> printQdisc = [&](const tc::LiveQdisc& q,
                                                                   int depth) {
    fmt::print("{:{}}{}\n", "", depth * 2, qdiscText(q));
    printClassChildren(q.handle, depth + 1);
  };
  printClassChildren = [&](uint32_t parent, int depth) {
    auto [begin, end] = classesByParent.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      const tc::LiveClass& c = *it->second;
      fmt::print("{:{}}{}\n", "", depth * 2, classText(c));
      auto [qb, qe] = qdiscsByParent.equal_range(c.classid);
      for (auto q = qb; q != qe; ++q) {
        printQdisc(*q->second, depth + 1);
      }
      printClassChildren(c.classid, depth + 1);
    }
  };
  for (const auto& q : tree.qdiscs) {
    // Roots: attached to the device (root, clsact/ingress), not under one of its classes.
    if (tree.findClass(q.parent) == nullptr) {
      printQdisc(q, 0);
    }
  }
}

nlohmann::json toJson(const tc::LiveTree& tree) {
  nlohmann::json qdiscs = nlohmann::json::array();
  for (const auto& q : tree.qdiscs) {
    nlohmann::json j = {{"handle", tc::formatHandle(q.handle)},
                        {"parent", tc::formatHandle(q.parent)},
                        {"kind", q.kind},
                        {"stats", statsJson(q.stats)}};
    if (q.htb) {
      j["options"] = {{"r2q", q.htb->r2q}, {"default", q.htb->defaultMinor}};
    } else if (q.cake) {
      const auto& c = *q.cake;
      j["options"] = {{"bandwidth_bps", c.bandwidthBitsPerSecond},
                      {"diffserv", tc::cakeDiffservValue(c.diffserv)},
                      {"rtt_us", c.rttUs},
                      {"ack_filter", c.ackFilter},
                      {"nat", c.nat},
                      {"wash", c.wash},
                      {"split_gso", c.splitGso},
                      {"overhead", c.overheadBytes.value_or(0)},
                      {"mpu", c.mpuBytes.value_or(0)},
                      {"memlimit", c.memlimitBytes.value_or(0)}};
    } else if (q.fqCodel) {
      const auto& f = *q.fqCodel;
      j["options"] = {{"limit", f.limitPackets}, {"flows", f.flows},
                      {"quantum", f.quantumBytes}, {"target_us", f.targetUs},
                      {"interval_us", f.intervalUs}, {"ecn", f.ecn},
                      {"memory_limit", f.memoryLimitBytes}};
    } else if (q.fifoLimit) {
      j["options"] = {{"limit", *q.fifoLimit}};
    }
    if (q.cakeXstats) {
      nlohmann::json tins = nlohmann::json::array();
      for (const auto& t : q.cakeXstats->tins) {
        tins.push_back({{"threshold_rate", t.thresholdRateBytesPerSec},
                        {"sent_bytes", t.sentBytes},
                        {"sent_packets", t.sentPackets},
                        {"dropped_packets", t.droppedPackets},
                        {"ecn_marked_packets", t.ecnMarkedPackets},
                        {"ack_drops", t.ackDropPackets},
                        {"backlog_bytes", t.backlogBytes},
                        {"peak_delay_us", t.peakDelayUs},
                        {"avg_delay_us", t.avgDelayUs},
                        {"base_delay_us", t.baseDelayUs},
                        {"sparse_flows", t.sparseFlows},
                        {"bulk_flows", t.bulkFlows},
                        {"unresponsive_flows", t.unresponsiveFlows}});
      }
      j["xstats"] = {{"memory_used", q.cakeXstats->memoryUsedBytes},
                     {"memory_limit", q.cakeXstats->memoryLimitBytes},
                     {"capacity_estimate", q.cakeXstats->capacityEstimateBytesPerSec},
                     {"tins", tins}};
    }
    if (q.fqCodelXstats) {
      const auto& x = *q.fqCodelXstats;
      j["xstats"] = {{"maxpacket", x.maxPacket},       {"drop_overlimit", x.dropOverlimit},
                     {"ecn_mark", x.ecnMark},          {"new_flow_count", x.newFlowCount},
                     {"new_flows_len", x.newFlowsLen}, {"old_flows_len", x.oldFlowsLen},
                     {"ce_mark", x.ceMark},            {"memory_usage", x.memoryUsage},
                     {"drop_overmemory", x.dropOvermemory}};
    }
    qdiscs.push_back(std::move(j));
  }
  nlohmann::json classes = nlohmann::json::array();
  for (const auto& c : tree.classes) {
    nlohmann::json j = {{"classid", tc::formatHandle(c.classid)},
                        {"parent", tc::formatHandle(c.parent)},
                        {"kind", c.kind},
                        {"stats", statsJson(c.stats)}};
    if (c.leafHandle != 0) {
      j["leaf"] = tc::formatHandle(c.leafHandle);
    }
    if (c.htb) {
      j["options"] = {{"rate_bytes_per_sec", c.htb->rateBytesPerSec},
                      {"ceil_bytes_per_sec", c.htb->ceilBytesPerSec},
                      {"quantum", c.htb->quantumBytes},
                      {"prio", c.htb->prio},
                      {"level", c.htb->level}};
    }
    if (c.htbXstats) {
      j["xstats"] = {{"lends", c.htbXstats->lends},   {"borrows", c.htbXstats->borrows},
                     {"giants", c.htbXstats->giants}, {"tokens", c.htbXstats->tokens},
                     {"ctokens", c.htbXstats->ctokens}};
    }
    classes.push_back(std::move(j));
  }
  return {{"dev", tree.dev}, {"ifindex", tree.ifindex}, {"qdiscs", qdiscs}, {"classes", classes}};
}

void run(const TreeOptions& options) {
  auto socket =
      netlink::Socket::open(options.netns.empty() ? "" : "/var/run/netns/" + options.netns);
  if (!socket) {
    fmt::print(stderr, "error: {}\n", socket.error().message());
    setExitCode(1);
    return;
  }
  auto tree = tc::readLiveTree(*socket, options.dev);
  if (!tree) {
    fmt::print(stderr, "error: {}\n", tree.error().message());
    setExitCode(1);
    return;
  }
  if (options.json) {
    fmt::print("{}\n", toJson(*tree).dump(2));
  } else {
    printText(*tree);
  }
  setExitCode(0);
}

}  // namespace

void addTreeCommand(CLI::App& app) {
  auto options = std::make_shared<TreeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tree", "Print an interface's live queue tree (read through netlink) with statistics");
  cmd->add_option("--dev", options->dev, "Interface")->required();
  cmd->add_flag("--json", options->json, "JSON instead of an indented tree");
  cmd->add_option("--netns", options->netns, "Read inside network namespace NAME");
  cmd->callback([options] { run(*options); });
}

}  // namespace sluice::cli
