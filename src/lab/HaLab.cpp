#include "lab/HaLab.h"

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "lab/Command.h"
#include "lab/HaNetwork.h"
#include "lab/LabConfig.h"
#include "lab/Network.h"
#include "model/Inputs.h"

namespace fs = std::filesystem;

namespace sluice::lab {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint16_t kHaServerPorts = 4;

/// The lab's default template: the small end-to-end inputs (ceilings of 2 to 10 Mbit/s), which
/// two shapers on a two-core machine shape accurately; else the demo ISP's.
std::string haTemplate() {
#ifdef SLUICE_TEST_DATA_DIR_FOR_LAB
  if (fs::exists(SLUICE_TEST_DATA_DIR_FOR_LAB "/e2e/small/lqos.conf")) {
    return SLUICE_TEST_DATA_DIR_FOR_LAB "/e2e/small/lqos.conf";
  }
#endif
  return defaultTemplate();
}

/// The `[ha]` section of shaper `p`'s config (TOML text).
std::string haSection(const HaLabState& lab, const HaPath& p) {
  const auto argv = [](const std::vector<std::string>& words) {
    std::string out = "[";
    for (const std::string& w : words) {
      out += (out.size() > 1 ? ", " : "") + fmt::format("\"{}\"", w);
    }
    return out + "]";
  };
  return fmt::format(
      "\n# Written by `sluice lab ha up`: the routing hook moves traffic off this path.\n"
      "[ha]\nrole = \"{}\"\nfail_mode = \"open\"\nhold_down_seconds = {}\n"
      "hook_timeout_seconds = 10\nstart_grace_seconds = 30\npeer = \"{}\"\n"
      "drain_command = {}\nrestore_command = {}\n",
      p.name == std::string("a") ? "primary" : "backup", lab.holdDownSeconds,
      lab.shapers[p.name == std::string("a") ? 1 : 0].socket,
      argv(ospfCostArgv(lab, p, kHaDrainedCost)), argv(ospfCostArgv(lab, p, p.cost)));
}

bool namespaceExists(const std::string& ns) {
  return fs::exists("/run/netns/" + ns);
}

}  // namespace

nlohmann::json HaLabState::toJson() const {
  return {{"state_dir", stateDir},     {"template_config", templateConfig},
          {"network", network},        {"devices", devices},
          {"hook_script", hookScript}, {"hold_down_seconds", holdDownSeconds},
          {"a", shapers[0].toJson()},  {"b", shapers[1].toJson()}};
}

HaLabState HaLabState::fromJson(const nlohmann::json& json) {
  HaLabState s;
  s.stateDir = json.value("state_dir", std::string());
  s.templateConfig = json.value("template_config", std::string());
  s.network = json.value("network", std::string());
  s.devices = json.value("devices", std::string());
  s.hookScript = json.value("hook_script", std::string());
  s.holdDownSeconds = json.value("hold_down_seconds", 5u);
  s.shapers[0] = LabState::fromJson(json.value("a", nlohmann::json::object()));
  s.shapers[1] = LabState::fromJson(json.value("b", nlohmann::json::object()));
  return s;
}

std::vector<std::string> ospfCostArgv(const HaLabState& lab, const HaPath& p, int cost) {
  return {lab.hookScript, p.coreIf, p.distIf, std::to_string(cost)};
}

Result<HaLabState> loadHaLabState(const std::string& stateDir) {
  std::ifstream in(stateDir + "/ha-lab.json");
  if (!in) {
    return makeError(ENOENT, "no HA lab is up (" + stateDir + "/ha-lab.json missing)");
  }
  const nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
  if (!json.is_object()) {
    return makeError(EINVAL, stateDir + "/ha-lab.json is not a JSON object");
  }
  return HaLabState::fromJson(json);
}

Result<HaLabState> haLabUp(const HaUpOptions& options, const StatusQuery& status, std::FILE* log) {
  for (const std::string& ns : kHaNamespaces) {
    if (namespaceExists(ns)) {
      return makeError(EEXIST, "an HA lab is up (or half built): run `sluice lab ha down` first");
    }
  }
  for (const char* daemon : {kZebra, kOspfd}) {
    if (access(daemon, X_OK) != 0) {
      return makeError(ENOENT,
                       fmt::format("{} not found: install frr (tools/install-deps.sh)", daemon));
    }
  }
  HaLabState lab;
  lab.stateDir = fs::absolute(options.stateDir).lexically_normal().string();
  lab.holdDownSeconds = options.holdDownSeconds;
  lab.templateConfig = fs::absolute(options.config.empty() ? haTemplate() : options.config)
                           .lexically_normal()
                           .string();
  model::Inputs inputs = model::loadInputs({lab.templateConfig, options.network, options.devices});
  if (!inputs.ok()) {
    std::string all;
    for (const Diagnostic& d : inputs.diagnostics.all()) {
      all += d.toString() + "\n";
    }
    return makeError(EINVAL, "the HA lab's inputs are invalid", all);
  }
  {
    std::ifstream in(lab.templateConfig);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("\n[ha]") != std::string::npos || text.starts_with("[ha]")) {
      return makeError(EINVAL, lab.templateConfig +
                                   " has an [ha] section: the HA lab writes its "
                                   "own (remove it from the template)");
    }
  }
  lab.network = inputs.resolvedNetwork;
  lab.devices = inputs.resolvedDevices;
  std::vector<IpNet> hosts;
  for (const CircuitHosts& circuit : circuitHosts(inputs.model.shaped)) {
    hosts.insert(hosts.end(), circuit.ipv4.begin(), circuit.ipv4.end());
  }
  std::error_code ec;
  fs::create_directories(lab.stateDir, ec);
  if (ec) {
    return makeError(ec.value(), "mkdir " + lab.stateDir);
  }
  fmt::print(log, "lab ha: building routers, two shaper paths and {} subscriber addresses\n",
             hosts.size());
  const auto fail = [&](const Error& error) -> Result<HaLabState> {
    (void)haLabDown(lab.stateDir);
    return std::unexpected(error);
  };
  if (auto built = buildRouters(hosts); !built) {
    return fail(built.error());
  }
  for (const auto& [router, id, core] :
       {std::tuple{kHaCoreNs, "192.0.2.1", true}, std::tuple{kHaDistNs, "192.0.2.13", false}}) {
    const std::string dir = lab.stateDir + "/frr/" + router;
    if (auto started = startFrr(router, dir, frrConfig(router, id, core, dir + "/frr.log"));
        !started) {
      return fail(started.error());
    }
  }
  auto script = writeHookScript(lab.stateDir);
  if (!script) {
    return fail(script.error());
  }
  lab.hookScript = *script;
  // Leaves: the configured kind when the kernel has it, else the lab's fallback (docs/lab.md).
  std::string fallback;
  const std::string sqm =
      inputs.config.queues.defaultSqm.substr(0, inputs.config.queues.defaultSqm.find(' '));
  if (sqm == "cake" || sqm == "fq_codel") {
    auto probe = run({"tc", "-n", kHaPaths[0].ns, "qdisc", "add", "dev", kShaperInternetIf, "root",
                      "handle", "1:", sqm});
    if (probe && probe->exitCode == 0) {
      (void)run({"tc", "-n", kHaPaths[0].ns, "qdisc", "del", "dev", kShaperInternetIf, "root"});
    } else {
      fallback =
          inputs.config.sluice.leafFallback.empty() ? "pfifo" : inputs.config.sluice.leafFallback;
      fmt::print(log, "lab ha: this kernel has no {}: leaves fall back to {}\n", sqm, fallback);
    }
  }
  for (size_t i = 0; i < kHaPaths.size(); ++i) {
    LabState& s = lab.shapers[i];
    s.mode = LabMode::Bridge;
    s.netns = kHaPaths[i].ns;
    s.stateDir = lab.stateDir + "/" + kHaPaths[i].name;
    s.config = s.stateDir + "/lqos.conf";
    s.network = s.stateDir + "/network.json";
    s.devices = s.stateDir + "/ShapedDevices.csv";
    s.socket = s.stateDir + "/sluiced.sock";
    s.templateConfig = lab.templateConfig;
    s.leafFallback = fallback;
    fs::create_directories(s.stateDir, ec);
    fs::copy_file(lab.network, s.network, fs::copy_options::overwrite_existing, ec);
    fs::copy_file(lab.devices, s.devices, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      return fail(Error{ec.value(), "copy the inputs to " + s.stateDir});
    }
  }
  for (size_t i = 0; i < kHaPaths.size(); ++i) {
    LabState& s = lab.shapers[i];
    LabConfigRequest request{lab.templateConfig,    LabMode::Bridge, s.network,   s.devices,
                             s.stateDir + "/state", s.socket,        std::nullopt};
    if (!fallback.empty()) {
      request.leafFallback = fallback;
    }
    if (auto written = writeLabConfig(request, s.config); !written) {
      return fail(written.error());
    }
    std::ofstream(s.config, std::ios::app) << haSection(lab, kHaPaths[i]);
    (void)writeText(s.stateDir + "/lab.json", s.toJson().dump(2), fs::perms(0644));
  }
  if (auto servers = startIperfServers(lab.stateDir, kHaInetNs, kHaServerPorts); !servers) {
    return fail(servers.error());
  }
  if (auto saved = writeText(lab.stateDir + "/ha-lab.json", lab.toJson().dump(2), fs::perms(0644));
      !saved) {
    return fail(saved.error());
  }
  for (LabState& s : lab.shapers) {
    s.sluiced = findSluiced(options.sluiced);
  }
  for (size_t i = 0; i < kHaPaths.size(); ++i) {
    LabState& s = lab.shapers[i];
    if (auto started = startSluiced(s, status, options.readyTimeout, log); !started) {
      (void)writeText(lab.stateDir + "/ha-lab.json", lab.toJson().dump(2), fs::perms(0644));
      return std::unexpected(started.error());
    }
    (void)writeText(s.stateDir + "/lab.json", s.toJson().dump(2), fs::perms(0644));
  }
  (void)writeText(lab.stateDir + "/ha-lab.json", lab.toJson().dump(2), fs::perms(0644));
  // OSPF: adjacencies on both paths, both directions over a (hello 1 s: a few seconds).
  const std::string subscriber = hosts.empty() ? "192.0.2.14" : hosts.front().toString();
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  std::string path = carryingPath(subscriber);
  while (path != "a" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(250));
    path = carryingPath(subscriber);
  }
  if (path != "a") {
    return makeError(ETIMEDOUT, "OSPF did not converge on path a within 60 s (now: " + path + ")",
                     "FRR logs: " + lab.stateDir + "/frr/*/");
  }
  fmt::print(log, "lab ha: both shapers ready, OSPF carries both directions over path a\n");
  return lab;
}

std::vector<std::string> haLabDown(const std::string& stateDir) {
  std::vector<std::string> problems;
  if (auto lab = loadHaLabState(stateDir)) {
    // sluiced first (SIGTERM: the drain hook runs while FRR still listens, then the tree goes).
    for (const LabState& s : lab->shapers) {
      if (s.sluicedPid > 0 && processAlive(s.sluicedPid) &&
          !stopProcess(s.sluicedPid, SIGTERM, seconds(20)) &&
          !stopProcess(s.sluicedPid, SIGKILL, seconds(5))) {
        problems.push_back(fmt::format("sluiced (pid {}) did not stop", s.sluicedPid));
      }
    }
  }
  for (const std::string& ns : kHaNamespaces) {
    if (!namespaceExists(ns)) {
      continue;
    }
    for (int pid : namespacePids(ns)) {
      if (!stopProcess(pid, SIGTERM, milliseconds(3000)) &&
          !stopProcess(pid, SIGKILL, milliseconds(2000))) {
        problems.push_back(fmt::format("process {} in namespace {} did not stop", pid, ns));
      }
    }
    if (auto done = runChecked({"ip", "netns", "del", ns}); !done) {
      problems.push_back(done.error().message());
    }
  }
  std::error_code ec;
  for (const char* router : {kHaCoreNs, kHaDistNs}) {
    fs::remove_all(fs::path("/run/frr") / router, ec);
  }
  for (const HaPath& p : kHaPaths) {
    const std::string bpffs = stateDir + "/" + p.name + "/bpffs";
    if (umount2(bpffs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      problems.push_back(fmt::format("cannot unmount {}: {}", bpffs, std::strerror(errno)));
    }
  }
  fs::remove_all(stateDir, ec);
  if (ec) {
    problems.push_back(fmt::format("cannot remove {}: {}", stateDir, ec.message()));
  }
  return problems;
}

}  // namespace sluice::lab
