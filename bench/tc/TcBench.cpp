// Full-tree build benchmark: the netlink Applier vs `tc -batch` of the planner's tc-batch text,
// same run, same tree, on veths in a private network namespace, both directions.
//
//   bench_tc --circuits 10000 --queues 16 [--repeat 1] [--leaf pfifo] [--skip-tc] [--interleave]
//
// Per configuration: a synthetic ISP (synth::generate, seed 1), planned for Q queues (tx queues =
// CPUs = Q), interfaces eth0 (Internet side, upload) and eth1 (subscriber side, download) as one
// veth pair with Q tx queues in namespace sl-tc-bench-<pid>. Each tool builds the whole tree on
// both interfaces from nothing; the tree is removed between runs (not timed). Reported: wall time,
// user and system CPU (getrusage: RUSAGE_CHILDREN around `ip netns exec ... tc -batch`,
// RUSAGE_SELF around the Applier; the kernel's work for a netlink request runs inside sendmsg() and
// is charged to the sender as system time), the ratio tc/applier, and the Applier's userspace
// share (user CPU / wall).

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "model/Inputs.h"
#include "netlink/Socket.h"
#include "planner/Planner.h"
#include "planner/TcBatch.h"
#include "synth/Synth.h"
#include "tc/Applier.h"

namespace {

using namespace sluice;

struct Usage {
  double wall = 0;
  double user = 0;
  double sys = 0;
};

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

Usage rusageOf(int who) {
  rusage ru{};
  ::getrusage(who, &ru);
  return Usage{0, seconds(ru.ru_utime), seconds(ru.ru_stime)};
}

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

struct Options {
  uint32_t circuits = 10000;
  uint32_t queues = 16;
  uint32_t repeat = 1;
  std::string leaf = "pfifo";
  bool skipTc = false;
  bool interleave = false;
  std::string workDir = "/var/tmp";
};

std::optional<plan::QueuePlan> makePlan(const Options& o, const std::string& dir) {
  synth::SynthOptions so;
  so.circuits = o.circuits;
  so.sites = std::max<uint32_t>(4, o.circuits / 500);
  so.sqmOverrideShare = 0;
  const synth::SynthFiles files = synth::generate(so);
  synth::LqosConfOptions co;
  co.defaultSqm = o.leaf;
  std::ofstream(dir + "/network.json") << files.networkJson;
  std::ofstream(dir + "/ShapedDevices.csv") << files.shapedDevicesCsv;
  std::ofstream(dir + "/lqos.conf") << synth::renderLqosConf(co);
  model::Inputs in = model::loadInputs(
      {dir + "/lqos.conf", dir + "/network.json", dir + "/ShapedDevices.csv"});
  if (!in.ok()) {
    for (const auto& d : in.diagnostics.errors()) {
      fmt::print(stderr, "{}\n", d.toString());
    }
    return std::nullopt;
  }
  Diagnostics diags;
  auto p = plan::buildPlan(plan::PlannerInput{in.config, in.model, o.queues, o.queues}, diags);
  for (const auto& d : diags.errors()) {
    fmt::print(stderr, "{}\n", d.toString());
  }
  return p;
}

Usage runTcBatch(const std::string& ns, const std::string& batchFile) {
  const Usage before = rusageOf(RUSAGE_CHILDREN);
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = sh(fmt::format("ip netns exec {} tc -batch {}", ns, batchFile));
  Usage u = rusageOf(RUSAGE_CHILDREN);
  u.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  u.user -= before.user;
  u.sys -= before.sys;
  if (rc != 0) {
    fmt::print(stderr, "tc -batch failed (exit {})\n", rc);
    std::exit(1);
  }
  return u;
}

Usage runApplier(tc::NetlinkApplier& applier, const plan::QueuePlan& p) {
  const Usage before = rusageOf(RUSAGE_SELF);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = tc::applyPlan(applier, p, tc::ApplyMode::Create);
  Usage u = rusageOf(RUSAGE_SELF);
  u.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  u.user -= before.user;
  u.sys -= before.sys;
  if (!r) {
    fmt::print(stderr, "applier failed: {}\n", r.error().message());
    std::exit(1);
  }
  return u;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"tc backend benchmark: netlink Applier vs tc -batch"};
  app.add_option("--circuits", o.circuits)->capture_default_str();
  app.add_option("--queues", o.queues, "tx queues = shaping queues per direction")
      ->capture_default_str();
  app.add_option("--repeat", o.repeat)->capture_default_str();
  app.add_option("--leaf", o.leaf, "default_sqm for every circuit")->capture_default_str();
  app.add_flag("--skip-tc", o.skipTc, "Only time the Applier");
  app.add_flag("--interleave", o.interleave,
               "Applier adds each leaf right after its class (tc-batch order) instead of last");
  app.add_option("--work-dir", o.workDir)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const std::string dir = fmt::format("{}/sl-tc-bench-{}", o.workDir, ::getpid());
  std::filesystem::create_directories(dir);
  auto p = makePlan(o, dir);
  if (!p) {
    return 1;
  }
  const std::string batchFile = dir + "/tree.batch";
  std::ofstream(batchFile) << plan::renderTcBatch(*p);
  size_t classes = 0;
  size_t leaves = 0;
  for (const auto& iface : p->interfaces) {
    for (const auto& q : iface.queues) {
      classes += q.classes.size();
      for (const auto& c : q.classes) {
        leaves += c.leaf && c.leaf->kind != plan::LeafKind::None;
      }
    }
  }

  const std::string ns = fmt::format("sl-tc-bench-{}", ::getpid());
  if (sh("ip netns add " + ns) != 0 ||
      sh(fmt::format("ip -n {0} link add eth0 numtxqueues {1} numrxqueues {1} type veth peer name "
                     "eth1 numtxqueues {1} numrxqueues {1} && ip -n {0} link set eth0 up && "
                     "ip -n {0} link set eth1 up",
                     ns, o.queues)) != 0) {
    fmt::print(stderr, "cannot create namespace {} and its veths\n", ns);
    sh("ip netns del " + ns);
    return 1;
  }
  auto socket = netlink::Socket::open("/var/run/netns/" + ns);
  if (!socket) {
    fmt::print(stderr, "{}\n", socket.error().message());
    sh("ip netns del " + ns);
    return 1;
  }
  tc::NetlinkApplier applier(std::move(*socket), tc::Psched::read().value_or(tc::Psched::standard()));
  applier.setLeavesLast(!o.interleave);
  const auto clear = [&] {
    sh(fmt::format("tc -n {0} qdisc del dev eth0 root; tc -n {0} qdisc del dev eth1 root", ns));
  };

  fmt::print("# circuits={} queues={} interfaces={} htb_classes={} leaves={} applier order: {}\n",
             o.circuits, p->queueCount, p->interfaces.size(), classes, leaves,
             o.interleave ? "leaf after its class" : "leaves last");
  for (uint32_t rep = 0; rep < o.repeat; ++rep) {
    Usage t{};
    if (!o.skipTc) {
      t = runTcBatch(ns, batchFile);
      clear();
    }
    const uint64_t sendsBefore = applier.socket().stats().sendCalls;
    const Usage a = runApplier(applier, *p);
    const uint64_t sends = applier.socket().stats().sendCalls - sendsBefore;
    clear();
    fmt::print("circuits {:6} queues {:2} | tc-batch wall {:7.3f} s user {:6.3f} sys {:7.3f} | "
               "applier wall {:7.3f} s user {:6.3f} sys {:7.3f} | "
               "ratio tc/applier {:5.2f} | applier user share {:4.1f} % | sendmsg calls {}\n",
               o.circuits, p->queueCount, t.wall, t.user, t.sys, a.wall, a.user, a.sys,
               o.skipTc ? 0.0 : t.wall / a.wall, 100.0 * a.user / a.wall, sends);
    std::fflush(stdout);
  }
  sh("ip netns del " + ns);
  std::filesystem::remove_all(dir);
  return 0;
}
