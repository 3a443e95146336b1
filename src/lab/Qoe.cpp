#include "lab/Qoe.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "lab/Command.h"
#include "lab/Traffic.h"
#include "planner/TcBatch.h"

namespace sluice::lab {

namespace {

using std::chrono::seconds;

/// One of the circuit's leaves as planned and as found live.
struct LeafSite {
  std::string dev;
  plan::TcHandle classid;
  plan::LeafSpec planned;
  std::string liveKind;
  std::string liveHandle;  ///< "8003:"
  nlohmann::json liveOptions;
  uint16_t spareMajor = 0;  ///< a qdisc handle major the device does not use
};

void progress(std::FILE* log, const std::string& line) {
  if (log != nullptr) {
    fmt::print(log, "qoe: {}\n", line);
    std::fflush(log);
  }
}

Result<nlohmann::json> liveLeaf(const std::string& dev, plan::TcHandle classid) {
  auto shown = runChecked({"tc", "-n", kShaperNs, "-j", "qdisc", "show", "dev", dev, "parent",
                           classid.toString()});
  if (!shown) {
    return std::unexpected(shown.error());
  }
  const nlohmann::json list = nlohmann::json::parse(*shown, nullptr, false);
  if (!list.is_array() || list.empty() || !list[0].is_object()) {
    return makeError(ENOENT, fmt::format("no leaf qdisc under class {} on {} in netns {}",
                                         classid.toString(), dev, kShaperNs),
                     *shown);
  }
  return list[0];
}

/// Finds the class `classid` of `direction` in the plan and its live leaf.
/// `reserved`: spare majors already handed out (on a stick both leaves share one device).
Result<LeafSite> findLeaf(const plan::QueuePlan& queuePlan, plan::Direction direction,
                          plan::TcHandle classid, std::set<uint16_t>& reserved) {
  for (const plan::InterfacePlan& iface : queuePlan.interfaces) {
    for (const plan::HtbQueuePlan& queue : iface.queues) {
      if (queue.direction != direction || queue.major != classid.major) {
        continue;
      }
      for (const plan::HtbClassPlan& cls : queue.classes) {
        if (cls.classid != classid || !cls.leaf) {
          continue;
        }
        LeafSite site{iface.ifname, classid, *cls.leaf, "", "", nullptr, 0};
        auto live = liveLeaf(site.dev, classid);
        if (!live) {
          return std::unexpected(live.error());
        }
        site.liveKind = live->value("kind", std::string());
        site.liveHandle = live->value("handle", std::string());
        site.liveOptions = live->value("options", nlohmann::json::object());
        // Majors in use on this device (this direction's and, on a stick, the other's).
        std::set<uint16_t> used = reserved;
        used.insert(plan::kMqMajor);
        for (const plan::InterfacePlan& other : queuePlan.interfaces) {
          if (other.ifname != iface.ifname) {
            continue;
          }
          for (const plan::HtbQueuePlan& q : other.queues) {
            used.insert(q.major);
            for (const plan::HtbClassPlan& c : q.classes) {
              if (c.leaf) {
                used.insert(c.leaf->handleMajor);
              }
            }
          }
        }
        for (uint16_t major = 0xF000; major > 0; --major) {
          if (!used.contains(major)) {
            site.spareMajor = major;
            reserved.insert(major);
            break;
          }
        }
        return site;
      }
    }
  }
  return makeError(ENOENT, fmt::format("class {} is not in the lab's plan", classid.toString()));
}

std::string firstWord(const std::string& text) { return text.substr(0, text.find(' ')); }

/// The tc arguments that put the original leaf back: the plan's options when the live kind was
/// the planned one, else (a fallback leaf) the live FIFO with its limit.
Result<std::string> originalLeafArgs(const LeafSite& site) {
  const std::string planned = plan::leafTcOptions(site.planned);
  if (firstWord(planned) == site.liveKind) {
    return planned;
  }
  if (site.liveKind == "pfifo" || site.liveKind == "bfifo") {
    std::string args = site.liveKind;
    if (site.liveOptions.contains("limit")) {
      args += fmt::format(" limit {}", site.liveOptions["limit"].get<uint64_t>());
    }
    return args;
  }
  return makeError(EOPNOTSUPP,
                   fmt::format("cannot restore leaf kind {} on {} (planned {})", site.liveKind,
                               site.dev, firstWord(planned)));
}

Result<void> replaceLeaf(const LeafSite& site, const std::string& handle, const std::string& args) {
  Argv argv{"tc", "-n", kShaperNs, "qdisc", "replace", "dev", site.dev, "parent",
            site.classid.toString(), "handle", handle};
  std::istringstream words(args);
  for (std::string word; words >> word;) {
    argv.push_back(word);
  }
  auto done = runChecked(argv);
  if (!done) {
    return std::unexpected(done.error());
  }
  return {};
}

Argv pingArgv(const std::string& target, const QoeOptions& options) {
  const int count = options.seconds * 1000 / options.pingIntervalMs;
  return {"ip",
          "netns",
          "exec",
          kIspNs,
          "ping",
          "-n",
          "-i",
          fmt::format("{:.3f}", options.pingIntervalMs / 1000.0),
          "-c",
          std::to_string(count),
          "-w",
          std::to_string(options.seconds + 10),
          target};
}

Argv loadArgv(const IpNet& source, uint16_t port, bool download, const QoeOptions& options) {
  Argv argv = iperfArgv(source, port, download, options.seconds + 3);
  argv.push_back("--parallel");
  argv.push_back(std::to_string(options.flows));
  return argv;
}

/// One phase: load (none, down, up or both), 2 s later the pings; then every child's result.
Result<QoePhase> runPhaseOnce(const std::string& load, const IpNet& source,
                              const QoeOptions& options) {
  QoePhase phase{load, {}, 0, 0};
  const bool down = load == "down" || load == "both";
  const bool up = load == "up" || load == "both";
  std::optional<Child> downChild;
  std::optional<Child> upChild;
  if (down) {
    auto child = Child::start(loadArgv(source, kFirstPort, true, options));
    if (!child) {
      return std::unexpected(child.error());
    }
    downChild = std::move(*child);
  }
  if (up) {
    auto child =
        Child::start(loadArgv(source, static_cast<uint16_t>(kFirstPort + 1), false, options));
    if (!child) {
      return std::unexpected(child.error());
    }
    upChild = std::move(*child);
  }
  if (down || up) {
    std::this_thread::sleep_for(seconds(2));
  }
  auto ping = run(pingArgv(source.toString(), options), {}, seconds(options.seconds + 30));
  if (!ping) {
    return std::unexpected(ping.error());
  }
  auto stats = parsePing(ping->out);
  if (!stats) {
    return makeError(stats.error().errnum,
                     describe(pingArgv(source.toString(), options)) + ": " +
                         stats.error().context,
                     ping->out + ping->err);
  }
  phase.rtt = *stats;
  for (auto* entry : {&downChild, &upChild}) {
    if (!*entry) {
      continue;
    }
    auto output = (*entry)->wait(seconds(options.seconds + 40));
    if (!output) {
      return std::unexpected(output.error());
    }
    auto rate = receiverMbps(output->out);
    if (!rate) {
      return makeError(rate.error().errnum,
                       describe((*entry)->argv()) + ": " + rate.error().context,
                       rate.error().detail.empty() ? output->err : rate.error().detail);
    }
    (entry == &downChild ? phase.downMbps : phase.upMbps) = *rate;
  }
  return phase;
}

/// A phase whose iperf3 failed before it measured (a server still closing its previous test)
/// runs once more.
Result<QoePhase> runPhase(const std::string& load, const IpNet& source,
                          const QoeOptions& options) {
  auto phase = runPhaseOnce(load, source, options);
  if (!phase && phase.error().errnum == EPROTO) {
    std::this_thread::sleep_for(seconds(1));
    phase = runPhaseOnce(load, source, options);
  }
  return phase;
}

Result<QoeLeafRun> runLeaf(const std::string& leaf, const IpNet& source, const QoeOptions& options,
                           std::FILE* log) {
  QoeLeafRun leafRun{leaf, {}};
  for (const char* load : {"idle", "down", "up", "both"}) {
    auto phase = runPhase(load, source, options);
    if (!phase) {
      return std::unexpected(phase.error());
    }
    progress(log, fmt::format("{:<8} {:<4}  RTT p50 {:.1f} ms  p99 {:.1f} ms  down {:.2f} up {:.2f} "
                              "Mbit/s",
                              leaf, load, phase->rtt.p50Ms, phase->rtt.p99Ms, phase->downMbps,
                              phase->upMbps));
    leafRun.phases.push_back(*phase);
  }
  return leafRun;
}

}  // namespace

double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

Result<RttStats> parsePing(const std::string& pingOutput) {
  RttStats stats;
  std::vector<double> rtts;
  std::set<std::string> seqs;
  bool summary = false;
  std::istringstream lines(pingOutput);
  for (std::string line; std::getline(lines, line);) {
    const size_t time = line.find(" time=");
    const size_t seq = line.find("icmp_seq=");
    if (time != std::string::npos && seq != std::string::npos &&
        line.find("(DUP!)") == std::string::npos) {
      const std::string id = line.substr(seq + 9, line.find(' ', seq) - seq - 9);
      if (seqs.insert(id).second) {
        rtts.push_back(std::stod(line.substr(time + 6)));
      }
    }
    const size_t transmitted = line.find(" packets transmitted");
    if (transmitted != std::string::npos) {
      stats.sent = std::stoul(line.substr(0, transmitted));
      summary = true;
    }
  }
  if (!summary) {
    return makeError(EPROTO, "no ping summary line");
  }
  stats.received = rtts.size();
  if (!rtts.empty()) {
    std::sort(rtts.begin(), rtts.end());
    stats.p50Ms = percentile(rtts, 50);
    stats.p90Ms = percentile(rtts, 90);
    stats.p99Ms = percentile(rtts, 99);
    stats.maxMs = rtts.back();
  }
  return stats;
}

Result<QoeReport> measureQoe(const LabState& state, const QoeOptions& options, std::FILE* log) {
  TrafficOptions traffic;
  traffic.circuits = {options.circuit};
  auto targets = resolveTargets(state, traffic);
  if (!targets) {
    return std::unexpected(targets.error());
  }
  const TrafficTarget& target = targets->front();
  auto planned = planLab(state);
  if (!planned) {
    return std::unexpected(planned.error());
  }
  const plan::QueuePlan& queuePlan = *planned->plan;
  const auto placement =
      std::find_if(queuePlan.circuits.begin(), queuePlan.circuits.end(),
                   [&](const plan::CircuitPlacement& c) { return c.circuitId == target.circuit; });
  std::vector<LeafSite> leaves;
  std::set<uint16_t> reserved;
  for (const auto& [direction, classid] :
       {std::pair{plan::Direction::Download, placement->downClass},
        std::pair{plan::Direction::Upload, placement->upClass}}) {
    auto site = findLeaf(queuePlan, direction, classid, reserved);
    if (!site) {
      return std::unexpected(site.error());
    }
    leaves.push_back(*site);
  }
  QoeReport report;
  report.circuit = target.circuit;
  report.target = target.source.toString();
  report.plannedDownMbps = target.plannedDownMbps;
  report.plannedUpMbps = target.plannedUpMbps;
  report.payloadShare = payloadShare(target.source.isV4);
  report.seconds = options.seconds;
  report.flows = options.flows;
  progress(log, fmt::format("circuit {} ({}): leaves {} {} on {} (download), {} {} on {} "
                            "(upload)",
                            target.circuit, report.target, leaves[0].liveKind,
                            leaves[0].classid.toString(), leaves[0].dev, leaves[1].liveKind,
                            leaves[1].classid.toString(), leaves[1].dev));

  auto live = runLeaf(leaves[0].liveKind, target.source, options, log);
  if (!live) {
    return std::unexpected(live.error());
  }
  report.runs.push_back(*live);
  if (!options.compareFifo) {
    return report;
  }

  std::vector<std::string> restoreArgs;
  for (const LeafSite& site : leaves) {
    auto args = originalLeafArgs(site);
    if (!args) {
      return std::unexpected(args.error());
    }
    restoreArgs.push_back(*args);
  }
  // Swap both leaves to pfifo; whatever happens next, put the originals back.
  Result<void> swapped;
  size_t swappedCount = 0;
  for (const LeafSite& site : leaves) {
    swapped = replaceLeaf(site, fmt::format("{:x}:", site.spareMajor), "pfifo");
    if (!swapped) {
      break;
    }
    ++swappedCount;
  }
  Result<QoeLeafRun> fifo = makeError(0, "not run");
  if (swapped) {
    progress(log, "leaves switched to pfifo");
    fifo = runLeaf("pfifo", target.source, options, log);
  }
  std::string restoreProblems;
  for (size_t i = 0; i < swappedCount; ++i) {
    const LeafSite& site = leaves[i];
    auto restored = replaceLeaf(site, site.liveHandle, restoreArgs[i]);
    auto now = restored ? liveLeaf(site.dev, site.classid) : Result<nlohmann::json>();
    if (!restored) {
      restoreProblems += restored.error().message() + "; ";
    } else if (!now || now->value("kind", std::string()) != site.liveKind) {
      restoreProblems += fmt::format("leaf under {} on {} is not {} again; ",
                                     site.classid.toString(), site.dev, site.liveKind);
    }
  }
  if (!restoreProblems.empty()) {
    return makeError(EIO, "could not restore the circuit's leaves", restoreProblems);
  }
  progress(log, fmt::format("leaves restored ({})", leaves[0].liveKind));
  if (!swapped) {
    return std::unexpected(swapped.error());
  }
  if (!fifo) {
    return std::unexpected(fifo.error());
  }
  report.runs.push_back(*fifo);
  return report;
}

std::string renderQoe(const QoeReport& report) {
  std::string out = fmt::format(
      "circuit {} ({}): ceil {:g}/{:g} Mbit/s down/up, {} TCP flows per direction, {} s per "
      "phase\n",
      report.circuit, report.target, report.plannedDownMbps, report.plannedUpMbps, report.flows,
      report.seconds);
  out += fmt::format("{:<8}  {:<4}  {:>8}  {:>8}  {:>8}  {:>5}  {:>14}  {:>14}\n", "leaf", "load",
                     "RTT p50", "p90", "p99", "loss", "down Mbit/s", "up Mbit/s");
  auto rate = [&](double mbps, double ceil) {
    return mbps == 0 ? std::string("-")
                     : fmt::format("{:.2f} ({:3.0f} %)", mbps,
                                   ceil > 0 ? 100 * mbps / (ceil * report.payloadShare) : 0.0);
  };
  for (const QoeLeafRun& run : report.runs) {
    for (const QoePhase& phase : run.phases) {
      const double loss = phase.rtt.sent == 0 ? 0
                          : 100.0 * static_cast<double>(phase.rtt.sent - phase.rtt.received) /
                                static_cast<double>(phase.rtt.sent);
      out += fmt::format("{:<8}  {:<4}  {:>8.1f}  {:>8.1f}  {:>8.1f}  {:>4.0f}%  {:>14}  {:>14}\n",
                         run.leaf, phase.load, phase.rtt.p50Ms, phase.rtt.p90Ms, phase.rtt.p99Ms,
                         loss, rate(phase.downMbps, report.plannedDownMbps),
                         rate(phase.upMbps, report.plannedUpMbps));
    }
  }
  out += "(RTT in ms: ping from the Internet side to the circuit's address. Rates: TCP payload at\n"
         " the receiver; % of what the ceil can carry as payload, ceil x " +
         fmt::format("{:.3f}", report.payloadShare) + ".)\n";
  return out;
}

nlohmann::json toJson(const QoeReport& report) {
  nlohmann::json runs = nlohmann::json::array();
  for (const QoeLeafRun& run : report.runs) {
    nlohmann::json phases = nlohmann::json::array();
    for (const QoePhase& phase : run.phases) {
      phases.push_back({{"load", phase.load},
                        {"rtt_ms",
                         {{"p50", phase.rtt.p50Ms},
                          {"p90", phase.rtt.p90Ms},
                          {"p99", phase.rtt.p99Ms},
                          {"max", phase.rtt.maxMs}}},
                        {"pings_sent", phase.rtt.sent},
                        {"pings_received", phase.rtt.received},
                        {"down_mbps", phase.downMbps},
                        {"up_mbps", phase.upMbps}});
    }
    runs.push_back({{"leaf", run.leaf}, {"phases", phases}});
  }
  return {{"circuit", report.circuit},
          {"target", report.target},
          {"planned_down_mbps", report.plannedDownMbps},
          {"planned_up_mbps", report.plannedUpMbps},
          {"payload_share", report.payloadShare},
          {"seconds", report.seconds},
          {"flows", report.flows},
          {"runs", runs}};
}

}  // namespace sluice::lab
