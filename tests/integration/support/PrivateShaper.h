#pragma once
// What the tests that run a daemon::Shaper in-process on a real kernel share (root): the test
// process moves into a network namespace of its own (so every thread the Shaper starts lives
// there), gets the two shaping veths of the demo ISP's lqos.conf, a private bpffs and a work
// directory with the demo ISP's inputs; plus readers of the tc tree and the plan.
// Used by tests/integration/daemon/OverlayTest.cpp and tests/integration/treeguard.

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "planner/QueuePlan.h"

namespace sluice::test {

/// Output (stdout and stderr) of a shell command.
inline std::string sh(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    return out;
  }
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) {
    out += buffer;
  }
  pclose(pipe);
  return out;
}

/// The `tc class show` line of `classid` on `ifname`, "" when absent.
inline std::string classLine(const std::string& ifname, const plan::TcHandle& classid) {
  std::istringstream lines(sh("tc class show dev " + ifname));
  const std::string needle = "class htb " + classid.toString() + " ";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(needle, 0) == 0) {
      return line;
    }
  }
  return "";
}

/// Where node `name` landed in `plan`, or null.
inline const plan::NodePlacement* findNode(const plan::QueuePlan& plan, const std::string& name) {
  for (const auto& n : plan.nodes) {
    if (n.name == name) {
      return &n;
    }
  }
  return nullptr;
}

/// Where circuit `id` landed in `plan`, or null.
inline const plan::CircuitPlacement* findCircuit(const plan::QueuePlan& plan,
                                                 const std::string& id) {
  for (const auto& c : plan.circuits) {
    if (c.circuitId == id) {
      return &c;
    }
  }
  return nullptr;
}

/// A private namespace with the demo ISP for an in-process Shaper. enter() returns why the test
/// must skip ("" when ready); config() is the lqos.conf to start the Shaper on, pins() its bpffs
/// pin directory. leave() unmounts and removes everything (the namespace's links go with the
/// process).
class PrivateShaperLab {
 public:
  /// `name` names the work directory; `extraConfig` is appended to the demo's lqos.conf (which
  /// gets leaf_fallback = "pfifo", this kernel lacking CAKE, and a private state directory and
  /// socket); `txQueues` per shaping veth.
  std::string enter(const std::string& name, const std::string& extraConfig, int txQueues) {
    namespace fs = std::filesystem;
    if (geteuid() != 0) {
      return "needs root";
    }
    if (unshare(CLONE_NEWNET) != 0) {
      return "unshare(CLONE_NEWNET) failed";
    }
    work_ = fs::temp_directory_path() / ("sluice-" + name + "-" + std::to_string(getpid()));
    fs::create_directories(work_ / "bpffs");
    if (mount("bpf", (work_ / "bpffs").c_str(), "bpf", 0, nullptr) != 0) {
      return "cannot mount a bpffs";
    }
    for (const char* file : {"network.json", "ShapedDevices.csv"}) {
      fs::copy_file(fs::path(SLUICE_SOURCE_DIR) / "examples" / file, work_ / file);
    }
    std::ifstream in(fs::path(SLUICE_SOURCE_DIR) / "examples/lqos.conf");
    std::stringstream text;
    text << in.rdbuf();
    std::string config = text.str();
    const std::string section = "[sluice]\n";
    config.replace(config.find(section), section.size(),
                   section + "leaf_fallback = \"pfifo\"\nstate_directory = \"" +
                       (work_ / "state").string() + "\"\ncontrol_socket = \"" +
                       (work_ / "sock").string() + "\"\n");
    std::ofstream(work_ / "lqos.conf") << config << extraConfig;
    const std::string queues = std::to_string(txQueues);
    for (const char* pair : {"shp-inet", "shp-subs"}) {
      const std::string peer = std::string(pair) == "shp-inet" ? "isp0" : "subs0";
      const std::string add = "ip link add " + std::string(pair) + " numtxqueues " + queues +
                              " numrxqueues " + queues + " type veth peer name " + peer;
      if (std::system(add.c_str()) != 0) {
        return "cannot create the veths";
      }
    }
    for (const char* ifname : {"lo", "shp-inet", "shp-subs", "isp0", "subs0"}) {
      if (std::system(("ip link set " + std::string(ifname) + " up").c_str()) != 0) {
        return std::string("cannot set ") + ifname + " up";
      }
    }
    return "";
  }

  void leave() {
    if (!work_.empty()) {
      umount2((work_ / "bpffs").c_str(), MNT_DETACH);
      std::filesystem::remove_all(work_);
      work_.clear();
    }
  }

  const std::filesystem::path& work() const { return work_; }
  std::string config() const { return (work_ / "lqos.conf").string(); }
  std::string pins() const { return (work_ / "bpffs/pins").string(); }

 private:
  std::filesystem::path work_;
};

}  // namespace sluice::test
