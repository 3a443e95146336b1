#include "lab/HaDrill.h"

#include <signal.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/Elapsed.h"
#include "lab/Command.h"
#include "lab/Network.h"
#include "lab/Probe.h"
#include "lab/Traffic.h"

namespace sluice::lab {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const HaPath& kPrimary = kHaPaths[0];

/// Polls the routers until both take `expected` (or `timeout`); returns the ms it took, nullopt
/// on timeout. `seen` collects every other state the routes passed through.
std::optional<double> waitForPath(const std::string& subscriber, const std::string& expected,
                                  Clock::time_point since, seconds timeout,
                                  std::vector<std::string>* seen = nullptr) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const std::string path = carryingPath(subscriber);
    if (path == expected) {
      return msSince(since);
    }
    if (seen != nullptr && (seen->empty() || seen->back() != path)) {
      seen->push_back(path);
    }
    if (Clock::now() > deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

/// Watches the routes for `duration`: the states other than `expected` it saw.
std::vector<std::string> watchPath(const std::string& subscriber, const std::string& expected,
                                   milliseconds duration) {
  std::vector<std::string> other;
  const auto end = Clock::now() + duration;
  while (Clock::now() < end) {
    const std::string path = carryingPath(subscriber);
    if (path != expected && (other.empty() || other.back() != path)) {
      other.push_back(path);
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  return other;
}

/// Everything one scenario needs.
struct Drill {
  const std::string stateDir;
  const DrillOptions& options;
  const StatusQuery& status;
  std::FILE* log;
  HaLabState lab;
  IpNet probeTarget;
  TrafficTarget iperf;

  LabState& primary() { return lab.shapers[0]; }

  Result<double> download() {
    auto child = Child::start(
        iperfArgv(iperf.source, kFirstPort, true, options.iperfSeconds + 1, kHaSubsNs));
    if (!child) {
      return std::unexpected(child.error());
    }
    auto output = child->wait(seconds(options.iperfSeconds + 30));
    if (!output) {
      return std::unexpected(output.error());
    }
    return receiverMbps(output->out);
  }

  Result<void> restartPrimary(bool hard) {
    auto restarted = restartSluiced(primary().stateDir, hard, status, seconds(90), log);
    if (!restarted) {
      return std::unexpected(restarted.error());
    }
    lab.shapers[0] = *restarted;
    std::ofstream(stateDir + "/ha-lab.json", std::ios::trunc) << lab.toJson().dump(2);
    return {};
  }

  /// Waits until the primary's routing hook has restored its path (status "ha.hook.state"
  /// preferred) and path a carries: an orderly restart drains first, and the routes only follow
  /// about a second later, so the routes alone could still show the path from before.
  Result<void> restored(const char* after) {
    const auto deadline = Clock::now() + seconds(lab.holdDownSeconds + 60);
    for (;;) {
      auto answer = status(primary().socket);
      if (answer && answer->contains("ha") &&
          (*answer)["ha"]["hook"].value("state", std::string()) == "preferred") {
        break;
      }
      if (Clock::now() > deadline) {
        return makeError(ETIMEDOUT, fmt::format("after {}: the primary's hook did not restore "
                                                "within {} s",
                                                after, lab.holdDownSeconds + 60));
      }
      std::this_thread::sleep_for(milliseconds(200));
    }
    return backOnPrimary(after);
  }

  /// Runs one scenario: probes on, `event`, wait for `expected`, iperf3, probes off, `reset`.
  Result<ScenarioResult> scenario(const std::string& name, const std::string& description,
                                  const std::string& expected,
                                  const std::function<Result<void>()>& event,
                                  const std::function<Result<void>()>& during,
                                  const std::function<Result<void>()>& reset) {
    fmt::print(log, "drill: {}: {}\n", name, description);
    if (expected != "a") {
      // A failover is measured from the primary carrying.
      if (auto ready = backOnPrimary(name.c_str()); !ready) {
        return std::unexpected(ready.error());
      }
    }
    ScenarioResult r;
    r.scenario = name;
    r.description = description;
    r.expectedPath = expected;
    r.ceilMbps = iperf.plannedDownMbps;
    ProbeOptions down;
    down.target = probeTarget;
    down.senderNs = kHaInetNs;
    down.receiverNs = kHaSubsNs;
    down.pps = options.pps;
    ProbeOptions up = down;
    up.target = *IpNet::parse(kServerV4);
    up.senderNs = kHaSubsNs;
    up.receiverNs = kHaInetNs;
    auto probeDown = Probe::start(down);
    if (!probeDown) {
      return std::unexpected(probeDown.error());
    }
    auto probeUp = Probe::start(up);
    if (!probeUp) {
      return std::unexpected(probeUp.error());
    }
    std::this_thread::sleep_for(milliseconds(500));
    const uint64_t fromDown = (*probeDown)->nextSeq();
    const uint64_t fromUp = (*probeUp)->nextSeq();
    const std::string subscriber = probeTarget.toString();
    const std::string before = carryingPath(subscriber);
    const Clock::time_point t0 = Clock::now();
    if (auto done = event(); !done) {
      return std::unexpected(done.error());
    }
    if (before == expected) {
      // No failover may happen: watch the routes for the scenario's own steps.
      r.converged = true;
      std::vector<std::string> moved = watchPath(subscriber, expected, milliseconds(2000));
      if (auto done = during(); !done) {
        return std::unexpected(done.error());
      }
      const std::vector<std::string> later = watchPath(subscriber, expected, milliseconds(2000));
      moved.insert(moved.end(), later.begin(), later.end());
      if (!moved.empty()) {
        r.converged = false;
        r.note = "routes left path " + expected + ": " + fmt::format("{}", fmt::join(moved, ", "));
      }
    } else {
      std::vector<std::string> seen;
      auto ms = waitForPath(subscriber, expected, t0, options.settle, &seen);
      r.converged = ms.has_value();
      r.convergeMs = ms.value_or(msSince(t0));
      if (!r.converged) {
        r.note = fmt::format("routes did not reach path {} within {} s (seen: {})", expected,
                             options.settle.count(), fmt::join(seen, ", "));
      }
      std::this_thread::sleep_for(milliseconds(1000));
      if (auto done = during(); !done) {
        return std::unexpected(done.error());
      }
    }
    r.path = carryingPath(subscriber);
    // A shaper can only be measured slow by a busy machine (two vCPUs shared with whatever else
    // runs), never fast: a rate below the band is measured again (up to twice), a rate above it
    // (unshaped) is final.
    const double target = r.ceilMbps * payloadShare(true);
    const double band = target * options.tolerancePercent / 100;
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto mbps = download();
      if (!mbps) {
        return std::unexpected(mbps.error());
      }
      r.measuredMbps = *mbps;
      r.shaped = std::abs(r.measuredMbps - target) <= band;
      if (r.shaped || r.measuredMbps > target + band) {
        break;
      }
      fmt::print(log, "drill: {}: iperf3 {:.2f} Mbit/s, below the band: measuring again\n", name,
                 r.measuredMbps);
    }
    (*probeDown)->stop();
    (*probeUp)->stop();
    const ProbeReport a = (*probeDown)->report(fromDown, (*probeDown)->nextSeq());
    const ProbeReport b = (*probeUp)->report(fromUp, (*probeUp)->nextSeq());
    r.outageMs = std::max(a.longestGapMs, b.longestGapMs);
    r.lost = a.lost + b.lost;
    r.sent = a.sent + b.sent;
    fmt::print(log,
               "drill: {}: path {}, converged in {:.0f} ms, longest silence {:.0f} ms, {} of {} "
               "probe packets lost, iperf3 {:.2f} Mbit/s (ceil {:g}){}\n",
               name, r.path, r.convergeMs, r.outageMs, r.lost, r.sent, r.measuredMbps, r.ceilMbps,
               r.note.empty() ? "" : "; " + r.note);
    if (auto done = reset(); !done) {
      return std::unexpected(done.error());
    }
    return r;
  }

  /// Waits until path a carries again after a reset (the restore hook runs after the hold-down).
  Result<void> backOnPrimary(const char* after) {
    const auto since = Clock::now();
    if (!waitForPath(probeTarget.toString(), "a", since, seconds(lab.holdDownSeconds + 60))) {
      return makeError(ETIMEDOUT, fmt::format("after {}: path a did not carry again within {} s "
                                              "(now: {})",
                                              after, lab.holdDownSeconds + 60,
                                              carryingPath(probeTarget.toString())));
    }
    fmt::print(log, "drill: path a carries again after {:.1f} s\n", msSince(since) / 1000);
    return {};
  }
};

Result<void> nothing() {
  return {};
}

/// Removes the shaper's XDP programs and tc classifiers behind sluiced's back.
Result<void> detachPrograms(const std::string& ns) {
  for (const char* dev : {kShaperInternetIf, kShaperNetworkIf}) {
    (void)run({"ip", "-n", ns, "link", "set", "dev", dev, "xdp", "off"});
    (void)run({"tc", "-n", ns, "filter", "del", "dev", dev, "egress"});
  }
  return {};
}

/// Rewrites the primary's [ha] fail_mode, restarts its sluiced (orderly: drain, then restore
/// after the hold-down) and waits until path a carries again.
Result<void> setFailMode(Drill& drill, const std::string& mode) {
  const std::string path = drill.primary().config;
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* from : {"fail_mode = \"open\"", "fail_mode = \"closed\""}) {
    if (const size_t at = text.find(from); at != std::string::npos) {
      text.replace(at, std::string(from).size(), "fail_mode = \"" + mode + "\"");
    }
  }
  std::ofstream(path, std::ios::trunc) << text;
  fmt::print(drill.log, "drill: primary's fail_mode = {}; restarting its sluiced\n", mode);
  if (auto restarted = drill.restartPrimary(false); !restarted) {
    return restarted;
  }
  return drill.restored(("fail_mode " + mode).c_str());
}

}  // namespace

Result<std::vector<ScenarioResult>> runHaDrill(const std::string& stateDir,
                                               const DrillOptions& options,
                                               const StatusQuery& status, std::FILE* log) {
  auto lab = loadHaLabState(stateDir);
  if (!lab) {
    return std::unexpected(lab.error());
  }
  Drill drill{stateDir, options, status, log, *lab, {}, {}};
  // The circuits: resolved against the lab's inputs and plan (shaper a's config).
  auto planned = planLab(drill.lab.shapers[0]);
  if (!planned) {
    return std::unexpected(planned.error());
  }
  std::string probeCircuit = options.probeCircuit;
  std::string iperfCircuit = options.iperfCircuit;
  double best = 0;
  for (const CircuitHosts& c : circuitHosts(planned->inputs.model.shaped)) {
    if (c.ipv4.empty()) {
      continue;
    }
    if (probeCircuit.empty()) {
      probeCircuit = c.circuitId;
    }
    for (const plan::CircuitPlacement& p : planned->plan->circuits) {
      if (p.circuitId == c.circuitId && options.iperfCircuit.empty() &&
          c.circuitId != probeCircuit && p.downloadMaxMbps <= 20 && p.downloadMaxMbps > best) {
        best = p.downloadMaxMbps;
        iperfCircuit = c.circuitId;
      }
    }
  }
  TrafficOptions traffic;
  traffic.circuits = {probeCircuit, iperfCircuit};
  auto targets = resolveTargets(drill.lab.shapers[0], traffic);
  if (!targets) {
    return std::unexpected(targets.error());
  }
  drill.probeTarget = (*targets)[0].source;
  drill.iperf = (*targets)[1];
  fmt::print(log,
             "drill: probes to {} (circuit {}), iperf3 through circuit {} (ceil {:g} Mbit/s)\n",
             drill.probeTarget.toString(), probeCircuit, iperfCircuit, drill.iperf.plannedDownMbps);
  if (auto ready = drill.backOnPrimary("lab up"); !ready) {
    return std::unexpected(ready.error());
  }
  const std::string ns = kPrimary.ns;
  std::vector<ScenarioResult> rows;
  const auto add = [&](Result<ScenarioResult> r) -> Result<void> {
    if (!r) {
      return std::unexpected(r.error());
    }
    rows.push_back(std::move(*r));
    return {};
  };
  Result<void> step = add(drill.scenario(
      "link-down", "the primary's core-facing port goes down", "b",
      [&] {
        return runAll({{"ip", "-n", ns, "link", "set", kShaperInternetIf, "down"}});
      },
      nothing,
      [&]() -> Result<void> {
        if (auto up = runAll({{"ip", "-n", ns, "link", "set", kShaperInternetIf, "up"}}); !up) {
          return up;
        }
        return drill.backOnPrimary("link-down");
      }));
  if (step) {
    step = add(drill.scenario(
        "host-gone", "the primary shaper's ports are removed", "b",
        [&] { return deleteHaPath(kPrimary); }, nothing,
        [&]() -> Result<void> {
          if (auto built = createHaPath(kPrimary); !built) {
            return built;
          }
          if (auto restarted = drill.restartPrimary(false); !restarted) {
            return restarted;
          }
          return drill.restored("host-gone");
        }));
  }
  if (step) {
    step = add(drill.scenario(
        "dataplane", "the primary's XDP programs and tc classifier are detached", "b",
        [&] { return detachPrograms(ns); }, nothing, nothing));
  }
  if (step) {
    step = add(drill.scenario(
        "failback", "the primary's sluiced restarts; restore after the hold-down", "a",
        [&] { return drill.restartPrimary(false); }, nothing, nothing));
  }
  if (step) {
    step = add(drill.scenario(
        "sigkill", "the primary's sluiced is killed (SIGKILL), then started again", "a",
        [&]() -> Result<void> {
          if (!stopProcess(drill.primary().sluicedPid, SIGKILL, seconds(5))) {
            return makeError(EBUSY, "sluiced of path a did not die of SIGKILL");
          }
          return {};
        },
        [&] { return drill.restartPrimary(true); }, nothing));
  }
  if (step) {
    // The same broken data plane with fail_mode = closed: the shaping ports go down.
    step = setFailMode(drill, "closed");
  }
  if (step) {
    step = add(drill.scenario(
        "fail-closed", "fail_mode = closed: the primary's data plane detached, its ports go down",
        "b", [&] { return detachPrograms(ns); }, nothing,
        [&]() -> Result<void> { return setFailMode(drill, "open"); }));
  }
  if (!step) {
    return std::unexpected(step.error());
  }
  // The drill on record for `sluice ha check` ([ha] drill_record default: the state directory).
  const nlohmann::json record = drillJson(rows);
  for (const LabState& s : drill.lab.shapers) {
    std::ofstream(s.stateDir + "/state/ha-drill.json", std::ios::trunc) << record.dump(2) << "\n";
  }
  return rows;
}

std::string renderDrillTable(const std::vector<ScenarioResult>& rows) {
  std::string out =
      fmt::format("{:<10} {:>11} {:>10} {:>11} {:>5} {:<22}\n", "scenario", "converge ms",
                  "outage ms", "lost/sent", "path", "shaped (Mbit/s, ceil)");
  for (const ScenarioResult& r : rows) {
    out += fmt::format(
        "{:<10} {:>11.0f} {:>10.0f} {:>11} {:>5} {:<22}\n", r.scenario, r.convergeMs, r.outageMs,
        fmt::format("{}/{}", r.lost, r.sent), r.path,
        fmt::format("{} ({:.2f}, {:g})", r.shaped ? "yes" : "NO", r.measuredMbps, r.ceilMbps));
    if (!r.note.empty()) {
      out += "  note: " + r.note + "\n";
    }
  }
  return out;
}

nlohmann::json drillJson(const std::vector<ScenarioResult>& rows) {
  nlohmann::json list = nlohmann::json::array();
  for (const ScenarioResult& r : rows) {
    list.push_back({{"scenario", r.scenario},
                    {"description", r.description},
                    {"expected_path", r.expectedPath},
                    {"path", r.path},
                    {"converged", r.converged},
                    {"converge_ms", r.convergeMs},
                    {"outage_ms", r.outageMs},
                    {"lost", r.lost},
                    {"sent", r.sent},
                    {"measured_mbps", r.measuredMbps},
                    {"ceil_mbps", r.ceilMbps},
                    {"shaped", r.shaped},
                    {"note", r.note}});
  }
  return {{"time",
           fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(
                                                    std::chrono::system_clock::now())))},
          {"scenarios", list}};
}

}  // namespace sluice::lab
