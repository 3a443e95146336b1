#include "lab/Lab.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "lab/Command.h"
#include "lab/LabConfig.h"
#include "lab/Network.h"
#include "lab/UiForward.h"
#include "model/Inputs.h"

namespace fs = std::filesystem;

namespace sluice::lab {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string sluicedPath(const std::string& given) {
  if (!given.empty()) {
    return given;
  }
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // Installed side by side, or a build tree (build/src/cli/sluice, build/tests/e2e/...).
    std::vector<fs::path> candidates{self.parent_path() / "sluiced"};
    for (fs::path dir = self.parent_path(); dir.has_relative_path(); dir = dir.parent_path()) {
      candidates.push_back(dir / "src/daemon/sluiced");
      if (candidates.size() > 5) {
        break;
      }
    }
    for (const fs::path& candidate : candidates) {
      if (access(candidate.c_str(), X_OK) == 0) {
        return candidate.string();
      }
    }
  }
  return "sluiced";  // PATH
}

Result<void> copyFile(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    return makeError(ec.value(), fmt::format("copy {} to {}", from, to));
  }
  return {};
}

Result<void> writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    return makeError(errno, "cannot write " + path);
  }
  return {};
}

std::string leafKindOf(const std::string& defaultSqm) {
  const size_t space = defaultSqm.find(' ');
  return defaultSqm.substr(0, space);
}

/// Waits until sluiced reports "ready"; fails early when the process dies.
Result<void> waitReady(const LabState& state, const StatusQuery& status, seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer yet";
  const std::string logPath = state.stateDir + "/sluiced.log";
  for (;;) {
    if (!processAlive(state.sluicedPid)) {
      return makeError(0, fmt::format("sluiced (pid {}) exited before it was ready", state.sluicedPid),
                       "last lines of " + logPath + ":\n" + tailFile(logPath, 30));
    }
    auto answer = status(state.socket);
    if (answer) {
      const std::string current = answer->value("state", std::string("?"));
      if (current == "ready") {
        return {};
      }
      last = "state " + current;
    } else {
      last = answer.error().message();
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return makeError(ETIMEDOUT,
                       fmt::format("sluiced (pid {}) not ready after {} s ({})", state.sluicedPid,
                                   timeout.count(), last),
                       "last lines of " + logPath + ":\n" + tailFile(logPath, 30));
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
}

/// Removes /sys/fs/bpf/sluice/<dir> entries named after the lab's interfaces (sluiced's default
/// pin directory is named after the interfaces it shapes).
void removeLabPins(std::vector<std::string>& problems) {
  const fs::path root = "/sys/fs/bpf/sluice";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return;
  }
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    const bool ours = name.find(kShaperInternetIf) != std::string::npos ||
                      name.find(kShaperNetworkIf) != std::string::npos ||
                      name.find(kShaperStickIf) != std::string::npos;
    if (ours) {
      fs::remove_all(entry.path(), ec);
      if (ec) {
        problems.push_back(fmt::format("cannot remove {}: {}", entry.path().string(), ec.message()));
      }
    }
  }
}

/// The lab's own bpffs (see startSluiced): mounted on first use, kept until `lab down`.
Result<std::string> labBpffs(const std::string& stateDir) {
  const std::string dir = stateDir + "/bpffs";
  constexpr long kBpfFsMagic = 0xcafe4a11;
  struct statfs info {};
  if (statfs(dir.c_str(), &info) == 0 && info.f_type == kBpfFsMagic) {
    return dir;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return makeError(ec.value(), "mkdir " + dir);
  }
  if (mount("bpf", dir.c_str(), "bpf", 0, "mode=0700") != 0) {
    return makeError(errno, "mount -t bpf bpf " + dir);
  }
  return dir;
}

/// The UI forward and the lab admin (UiForward.h); problems are reported, the lab stays up.
void openUi(LabState& state, std::optional<Endpoint> endpoint, std::FILE* log) {
  if (!endpoint) {
    auto chosen = chooseUiEndpoint("");
    if (!chosen) {
      fmt::print(log, "lab: no UI forward: {} ({})\n", chosen.error().message(),
                 chosen.error().detail);
      return;
    }
    endpoint = *chosen;
  }
  const std::string netns = state.netns.empty() ? kShaperNs : state.netns;
  auto access = openLabUi(state.stateDir, state.config, netns, *endpoint);
  if (!access) {
    fmt::print(log, "lab: no UI forward: {}\n", access.error().message());
    if (!access.error().detail.empty()) {
      fmt::print(log, "{}\n", access.error().detail);
    }
    return;
  }
  state.uiUrl = access->url;
  (void)writeText(state.stateDir + "/lab.json", state.toJson().dump(2));
  fmt::print(log, "lab: web UI and API on {} (forwarded to sluiced's {} in netns {})\n",
             access->url, access->target, netns);
}

}  // namespace

std::string findSluiced(const std::string& given) { return sluicedPath(given); }

Result<LabState> labUp(const UpOptions& options, const StatusQuery& status, std::FILE* log) {
  if (!existingNamespaces().empty() || fs::exists(options.stateDir + "/lab.json")) {
    return makeError(EEXIST, "a lab is already up (or half built): run `sluice lab down` first");
  }
  std::optional<Endpoint> uiEndpoint;
  if (options.uiForward && options.startDaemon && !options.uiListen.empty()) {
    auto chosen = chooseUiEndpoint(options.uiListen);  // an explicit address must work
    if (!chosen) {
      return std::unexpected(chosen.error());
    }
    uiEndpoint = *chosen;
  }
  LabState state;
  state.mode = options.stick ? LabMode::Stick : LabMode::Bridge;
  state.stateDir = fs::absolute(options.stateDir).lexically_normal().string();
  state.templateConfig = options.config.empty()
                             ? defaultTemplate()
                             : fs::absolute(options.config).lexically_normal().string();
  if (state.templateConfig.empty()) {
    return makeError(ENOENT, "no lqos.conf given and the demo ISP's examples/lqos.conf not found");
  }
  model::Inputs inputs =
      model::loadInputs({state.templateConfig, options.network, options.devices});
  if (!inputs.ok()) {
    std::string all;
    for (const Diagnostic& d : inputs.diagnostics.all()) {
      all += d.toString() + "\n";
    }
    return makeError(EINVAL, "the lab's inputs are invalid", all);
  }
  std::error_code ec;
  fs::create_directories(state.stateDir, ec);
  if (ec) {
    return makeError(ec.value(), "mkdir " + state.stateDir);
  }
  state.config = state.stateDir + "/lqos.conf";
  state.network = state.stateDir + "/network.json";
  state.devices = state.stateDir + "/ShapedDevices.csv";
  state.socket = state.stateDir + "/sluiced.sock";
  for (const auto& [from, to] : {std::pair{inputs.resolvedNetwork, state.network},
                                 std::pair{inputs.resolvedDevices, state.devices}}) {
    if (auto copied = copyFile(from, to); !copied) {
      return std::unexpected(copied.error());
    }
  }
  NetworkSpec spec;
  spec.mode = state.mode;
  if (state.mode == LabMode::Stick) {
    if (const std::string lacking = kernelLacksVlans(); !lacking.empty()) {
      fs::remove_all(state.stateDir, ec);
      return makeError(EOPNOTSUPP, "no on-a-stick lab here", lacking);
    }
    auto vlans = templateVlans(state.templateConfig);
    if (!vlans) {
      return std::unexpected(vlans.error());
    }
    spec.internetVlan = state.internetVlan = vlans->internet;
    spec.networkVlan = state.networkVlan = vlans->network;
  }
  for (const CircuitHosts& circuit : circuitHosts(inputs.model.shaped)) {
    spec.subscriberHosts.insert(spec.subscriberHosts.end(), circuit.ipv4.begin(),
                                circuit.ipv4.end());
    spec.subscriberHosts.insert(spec.subscriberHosts.end(), circuit.ipv6.begin(),
                                circuit.ipv6.end());
  }
  for (bool v4 : {true, false}) {
    if (auto unknown = unknownAddress(inputs.model.shaped, v4)) {
      spec.subscriberHosts.push_back(*unknown);
      (v4 ? state.unknownV4 : state.unknownV6) = unknown->toString();
    }
  }
  fmt::print(log, "lab: building the {} network ({} subscriber addresses)\n",
             state.mode == LabMode::Bridge ? "bridge" : "on-a-stick", spec.subscriberHosts.size());
  if (auto built = createNetwork(spec); !built) {
    (void)destroyNetwork(milliseconds(2000));
    fs::remove_all(state.stateDir, ec);
    return std::unexpected(built.error());
  }
  const std::string leaf = leafKindOf(inputs.config.queues.defaultSqm);
  if ((leaf == "cake" || leaf == "fq_codel") &&
      !kernelHasQdisc(leaf, shaperInterfaces(state.mode).front())) {
    state.leafFallback = inputs.config.sluice.leafFallback.empty()
                             ? "pfifo"
                             : inputs.config.sluice.leafFallback;
    fmt::print(log, "lab: this kernel has no {}: leaves fall back to {}\n", leaf,
               state.leafFallback);
  }
  LabConfigRequest request{state.templateConfig, state.mode, state.network, state.devices,
                           state.stateDir + "/state", state.socket, std::nullopt};
  if (!state.leafFallback.empty()) {
    request.leafFallback = state.leafFallback;
  }
  if (auto written = writeLabConfig(request, state.config); !written) {
    return std::unexpected(written.error());
  }
  if (auto servers = startIperfServers(state.stateDir); !servers) {
    return std::unexpected(servers.error());
  }
  if (auto saved = writeText(state.stateDir + "/lab.json", state.toJson().dump(2)); !saved) {
    return std::unexpected(saved.error());
  }
  if (!options.startDaemon) {
    return state;
  }
  state.sluiced = sluicedPath(options.sluiced);
  if (auto started = startSluiced(state, status, options.readyTimeout, log); !started) {
    return std::unexpected(started.error());
  }
  if (options.uiForward) {
    openUi(state, uiEndpoint, log);
  }
  return state;
}

Result<void> startSluiced(LabState& state, const StatusQuery& status, std::chrono::seconds timeout,
                          std::FILE* log) {
  // `ip netns exec` gives the daemon a private mount namespace with a fresh /sys, where a bpffs
  // it mounts on /sys/fs/bpf dies with it, and so would its pins. A SIGKILLed sluiced must find
  // its maps again (DESIGN: adopt, not rebuild), so the pins go to a bpffs the lab mounted in its
  // state directory, which the daemon's mount namespace inherits and which outlives it.
  auto bpffs = labBpffs(state.stateDir);
  if (!bpffs) {
    return std::unexpected(bpffs.error());
  }
  const std::string netns = state.netns.empty() ? kShaperNs : state.netns;
  const Argv argv{"ip",          "netns",       "exec",        netns,        state.sluiced,
                  "--config",    state.config,  "--foreground", "--state-dir",
                  state.stateDir + "/state",    "--socket",    state.socket, "--pin-dir",
                  *bpffs + "/sluice"};
  fmt::print(log, "lab: starting {}\n", describe(argv));
  auto pid = startDetached(argv, state.stateDir + "/sluiced.log");
  if (!pid) {
    return std::unexpected(pid.error());
  }
  // `ip netns exec` execs the command in place, so this is sluiced's own pid.
  state.sluicedPid = *pid;
  (void)writeText(state.stateDir + "/sluiced.pid", fmt::format("{}\n", *pid));
  if (auto saved = writeText(state.stateDir + "/lab.json", state.toJson().dump(2)); !saved) {
    return std::unexpected(saved.error());
  }
  if (auto ready = waitReady(state, status, timeout); !ready) {
    return std::unexpected(ready.error());
  }
  fmt::print(log, "lab: sluiced (pid {}) is ready\n", state.sluicedPid);
  return {};
}

Result<LabState> restartSluiced(const std::string& stateDir, bool hard, const StatusQuery& status,
                                std::chrono::seconds timeout, std::FILE* log) {
  auto state = loadLabState(stateDir);
  if (!state) {
    return std::unexpected(state.error());
  }
  if (state->sluiced.empty()) {
    state->sluiced = sluicedPath("");
  }
  const int signal = hard ? SIGKILL : SIGTERM;
  if (state->sluicedPid > 0 && !stopProcess(state->sluicedPid, signal, seconds(20)) &&
      !stopProcess(state->sluicedPid, SIGKILL, seconds(5))) {
    return makeError(EBUSY, fmt::format("sluiced (pid {}) did not stop", state->sluicedPid));
  }
  if (auto started = startSluiced(*state, status, timeout, log); !started) {
    return std::unexpected(started.error());
  }
  return *state;
}

std::vector<std::string> labDown(const std::string& stateDir) {
  std::vector<std::string> problems = stopUiForward(stateDir);
  auto state = loadLabState(stateDir);
  int pid = state ? state->sluicedPid : 0;
  if (pid == 0) {
    std::ifstream pidFile(stateDir + "/sluiced.pid");
    pidFile >> pid;
  }
  // sluiced first and on its own: SIGTERM makes it detach and remove its tree.
  if (pid > 0 && processAlive(pid) && !stopProcess(pid, SIGTERM, seconds(20)) &&
      !stopProcess(pid, SIGKILL, seconds(5))) {
    problems.push_back(fmt::format("sluiced (pid {}) did not stop", pid));
  }
  for (std::string& problem : destroyNetwork(seconds(5))) {
    problems.push_back(std::move(problem));
  }
  removeLabPins(problems);
  const std::string bpffs = stateDir + "/bpffs";
  if (umount2(bpffs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    problems.push_back(fmt::format("cannot unmount {}: {}", bpffs, std::strerror(errno)));
  }
  std::error_code ec;
  fs::remove_all(stateDir, ec);
  if (ec) {
    problems.push_back(fmt::format("cannot remove {}: {}", stateDir, ec.message()));
  }
  return problems;
}

nlohmann::json labStatus(const std::string& stateDir, const StatusQuery& status) {
  nlohmann::json out;
  auto state = loadLabState(stateDir);
  out["up"] = state.has_value();
  out["state_dir"] = stateDir;
  out["namespaces"] = existingNamespaces();
  nlohmann::json links = nlohmann::json::object();
  for (const std::string& ns : existingNamespaces()) {
    auto shown = run({"ip", "-n", ns, "-d", "-j", "link", "show"});
    nlohmann::json list = nlohmann::json::array();
    if (shown && shown->exitCode == 0) {
      for (const auto& link : nlohmann::json::parse(shown->out, nullptr, false)) {
        if (!link.is_object() || link.value("ifname", std::string()) == "lo") {
          continue;
        }
        list.push_back({{"name", link.value("ifname", std::string())},
                        {"state", link.value("operstate", std::string())},
                        {"tx_queues", link.value("num_tx_queues", 0)},
                        {"master", link.value("master", std::string())},
                        {"xdp", link.contains("xdp")}});
      }
    }
    links[ns] = list;
  }
  out["links"] = links;
  if (!state) {
    return out;
  }
  out["lab"] = state->toJson();
  out["sluiced"] = {{"pid", state->sluicedPid}, {"alive", processAlive(state->sluicedPid)}};
  if (state->sluicedPid > 0) {
    auto answer = status(state->socket);
    if (answer) {
      out["sluiced"]["status"] = *answer;
    } else {
      out["sluiced"]["error"] = answer.error().message();
    }
  }
  return out;
}

}  // namespace sluice::lab
