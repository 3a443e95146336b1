#include "Sender.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "dataplane/Readers.h"

namespace sluice::realframe {
namespace {

// HTB leaves built by Topology (inner classes M:1 also count their children's packets).
const std::vector<std::string> kLeaves = {"1:2", "2:2", "1:30", "2:30", "2:34", "2:40"};

bool waitExited(pid_t pid, int timeoutMs) {
  for (int waited = 0; waited <= timeoutMs; waited += 10) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || r < 0) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

Trafgen::Trafgen(const std::string& ns, const std::string& dev, const std::string& config,
                 uint64_t ratePps, const std::string& logPath) {
  std::vector<std::string> args = {"ip",
                                   "netns",
                                   "exec",
                                   ns,
                                   "trafgen",
                                   "-o",
                                   dev,
                                   "-i",
                                   config,
                                   "-P",
                                   "1",
                                   "--no-sock-mem",
                                   "--notouch-irq",
                                   "--no-cpu-stats"};
  if (ratePps > 0) {
    args.push_back("-b");
    args.push_back(std::to_string(ratePps) + "pps");
  }
  pid_ = fork();
  if (pid_ < 0) {
    throw std::runtime_error("fork for trafgen failed");
  }
  if (pid_ == 0) {
    setpgid(0, 0);
    int log = open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  setpgid(pid_, pid_);
  // trafgen refuses bad configurations at once; give it a moment to do so.
  if (waitExited(pid_, 200)) {
    pid_ = -1;
    throw std::runtime_error("trafgen exited at once (see " + logPath + ")");
  }
}

Trafgen::~Trafgen() {
  if (pid_ <= 0) {
    return;
  }
  kill(-pid_, SIGINT);
  if (!waitExited(pid_, 5000)) {
    kill(-pid_, SIGKILL);
    waitExited(pid_, 5000);
  }
}

Snapshot snapshot(const Topology& topo, const Programs& progs) {
  Snapshot s;
  // Program statistics and link counters first (microseconds apart), the HTB classes and
  // qdisc drops (fork of tc, milliseconds) after: they give shares, not rates.
  if (progs.xdpFd >= 0) {
    s.xdp = readProgStats(progs.xdpFd, "XDP program");
  }
  if (progs.tcFd >= 0) {
    s.tc = readProgStats(progs.tcFd, "tc program");
  }
  s.sinkRx = topo.sinkRxPackets();
  s.at = std::chrono::steady_clock::now();
  s.sourceTx = topo.sourceTxPackets();
  s.classes = topo.htbClassPackets();
  s.qdiscDrops = topo.qdiscDrops();
  if (progs.statsMapFd >= 0) {
    auto st = dataplane::readStats(progs.statsMapFd);
    if (!st) {
      throw std::runtime_error("reading sluice_stats: " + st.error().message());
    }
    s.stats.assign(st->begin(), st->end());
  }
  return s;
}

Window difference(const Snapshot& a, const Snapshot& b, const std::vector<std::string>& expected) {
  Window w;
  w.seconds = std::chrono::duration<double>(b.at - a.at).count();
  w.offeredPps = static_cast<double>(static_cast<uint32_t>(b.sourceTx - a.sourceTx)) / w.seconds;
  w.forwardedPps = static_cast<double>(static_cast<uint32_t>(b.sinkRx - a.sinkRx)) / w.seconds;
  w.xdpNs = nsPerRun(a.xdp, b.xdp);
  w.tcNs = nsPerRun(a.tc, b.tc);
  w.xdpRuns = b.xdp.runCount - a.xdp.runCount;
  w.tcRuns = b.tc.runCount - a.tc.runCount;
  auto delta = [&](const std::string& c) {
    auto ia = a.classes.find(c);
    auto ib = b.classes.find(c);
    if (ib == b.classes.end()) {
      return uint64_t{0};
    }
    return ib->second - (ia == a.classes.end() ? 0 : ia->second);
  };
  for (const auto& leaf : kLeaves) {
    uint64_t d = delta(leaf);
    w.leafPackets += d;
    if (std::find(expected.begin(), expected.end(), leaf) != expected.end()) {
      w.expectedPackets += d;
    }
    if (leaf == "1:2" || leaf == "2:2") {
      w.defaultPackets += d;
    }
  }
  w.qdiscDrops = b.qdiscDrops - a.qdiscDrops;
  for (size_t i = 0; i < a.stats.size() && i < b.stats.size(); ++i) {
    w.stats.push_back(b.stats[i] - a.stats[i]);
  }
  return w;
}

double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace sluice::realframe
