// Real-frame benchmark of the whole packet path (root; namespaces of its own, see Topology.h):
// trafgen sends frames of known kinds into the Internet-facing veth; they cross sluice_xdp ->
// cpumap (CPU 1) -> bridge -> sluice_tc -> HTB (mq, one HTB per tx queue) to a sink. Reports
// packets per second forwarded (sink rx counter), the per-program cost from the kernel's BPF
// run-time statistics, and whether every frame reached its expected HTB class; then the same
// with a redirect-only XDP program and no tc program, then the reload penalty.
// Exits 1 when the path is broken (nothing forwarded, frames outside their classes).
//
// Usage: bench_realframe [--rounds N] [--seconds S] [--rate PPS] [--reload-rate PPS]
//                        [--reload-seconds S] [--live-frames N] [--no-paths] [--no-live]
//                        [--no-reload] [--holder]   (--holder: a TBF holder above each HTB)

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "Bench.h"
#include "Frames.h"
#include "RedirectOnly.h"
#include "dataplane/BpfMapWriter.h"

namespace sluice::realframe {

std::unique_ptr<PathAttachment> PathAttachment::sluice(const Topology& topo,
                                                       const dataplane::Dataplane& dp) {
  std::unique_ptr<PathAttachment> p(new PathAttachment(topo));
  topo.inShaper([&] {
    for (int ifindex : {topo.i1Ifindex(), topo.s1Ifindex()}) {
      auto x = dataplane::XdpAttachment::attach(ifindex, dp.xdpProgramFd());
      auto t = dataplane::TcAttachment::attachEgress(ifindex, dp.tcProgramFd());
      if (!x || !t) {
        throw std::runtime_error("attaching Sluice's programs: " +
                                 (!x ? x.error().message() : t.error().message()));
      }
      p->xdp_.push_back(std::move(*x));
      p->tc_.push_back(std::move(*t));
    }
    return 0;
  });
  return p;
}

std::unique_ptr<PathAttachment> PathAttachment::redirectOnly(const Topology& topo, int progFd) {
  std::unique_ptr<PathAttachment> p(new PathAttachment(topo));
  topo.inShaper([&] {
    auto x = dataplane::XdpAttachment::attach(topo.i1Ifindex(), progFd);
    if (!x) {
      throw std::runtime_error("attaching the redirect-only program: " + x.error().message());
    }
    p->xdp_.push_back(std::move(*x));
    return 0;
  });
  return p;
}

PathAttachment::~PathAttachment() {
  topo_.inShaper([&] {
    for (auto& x : xdp_) {
      (void)x.detach();
    }
    for (auto& t : tc_) {
      (void)t.detach();
    }
    return 0;
  });
}

Window measureWindow(const Topology& topo, const Programs& progs, const std::string& config,
                     uint64_t ratePps, const std::vector<std::string>& expected, const Options& o,
                     const std::string& log) {
  Trafgen sender(topo.inet(), "i0", config, ratePps, log);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmupSeconds));
  auto a = snapshot(topo, progs);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  auto b = snapshot(topo, progs);
  return difference(a, b, expected);
}

}  // namespace sluice::realframe

namespace {

using namespace sluice::realframe;
namespace dataplane = sluice::dataplane;

std::string loadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string one, five, fifteen;
  f >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        throw std::runtime_error(a + " needs a value");
      }
      return argv[++i];
    };
    if (a == "--rounds") {
      o.rounds = std::stoi(next());
    } else if (a == "--seconds") {
      o.seconds = std::stod(next());
    } else if (a == "--rate") {
      o.ratePps = std::stoull(next());
    } else if (a == "--reload-rate") {
      o.reloadRatePps = std::stoull(next());
    } else if (a == "--reload-seconds") {
      o.reloadSeconds = std::stod(next());
    } else if (a == "--live-frames") {
      o.liveFrames = static_cast<uint32_t>(std::stoul(next()));
    } else if (a == "--no-paths") {
      o.paths = false;
    } else if (a == "--no-live") {
      o.live = false;
    } else if (a == "--no-reload") {
      o.reload = false;
    } else if (a == "--holder") {
      o.holder = true;
    } else {
      throw std::runtime_error(
          "unknown argument " + a +
          "; usage: bench_realframe [--rounds N] [--seconds S] [--rate PPS] "
          "[--reload-rate PPS] [--reload-seconds S] [--live-frames N] [--no-paths] "
          "[--no-live] [--no-reload] [--holder]");
    }
  }
  if (o.rounds < 1 || o.seconds <= 0 || o.reloadSeconds <= 0 || o.liveFrames == 0 ||
      o.liveFrames > 100'000'000) {
    throw std::runtime_error(
        "--rounds, --seconds, --reload-seconds and --live-frames must be positive "
        "(--live-frames at most 100000000)");
  }
  return o;
}

struct KindResult {
  std::vector<double> pps, xdpNs, tcNs, offered, basePps, baseNs, classifiedPct, metaPct;
};

}  // namespace

int main(int argc, char** argv) try {
  Options o = parse(argc, argv);
  // libbpf warns when tc's clsact hook already exists (each run re-attaches): not a problem.
  spdlog::set_level(spdlog::level::err);
  if (geteuid() != 0) {
    throw std::runtime_error("needs root (namespaces, XDP, BPF statistics)");
  }
  if (std::system("command -v trafgen >/dev/null") != 0) {
    throw std::runtime_error(
        "trafgen not found: apt-get install netsniff-ng (tools/install-deps.sh)");
  }
  o.workDir = fmt::format("/tmp/sluice-realframe-{}", getpid());
  mkdir(o.workDir.c_str(), 0700);
  utsname u{};
  uname(&u);
  std::printf("# bench_realframe: Linux %s, %ld CPUs, load average %s\n", u.release,
              sysconf(_SC_NPROCESSORS_ONLN), loadAverage().c_str());

  BpfStatsSession bpfStats;
  Topology topo(o.holder);
  if (o.holder) {
    std::printf("# with a TBF holder qdisc between mq and each HTB qdisc\n");
  }
  dataplane::DataplaneOptions dpo;
  dpo.internetIfindex = static_cast<uint32_t>(topo.i1Ifindex());
  dpo.networkIfindex = static_cast<uint32_t>(topo.s1Ifindex());
  dpo.lpmCapacity = kReloadMappings + 1024;
  auto dp = dataplane::Dataplane::open(dpo);
  if (!dp) {
    throw std::runtime_error("open the data plane: " + dp.error().message());
  }
  constexpr uint32_t kCpu = 1;  // the shaping CPU; trafgen and the XDP softirq use CPU 0
  if (auto r = (*dp)->setRuntimeConfig({0, {kCpu, kCpu}}); !r) {
    throw std::runtime_error("runtime config: " + r.error().message());
  }
  dataplane::BpfMapWriter writer((*dp)->lpmMapFd(), (*dp)->epochMapFd());
  if (auto r = writer.publish(benchMappings(kCpu)); !r) {
    throw std::runtime_error("publish: " + r.error().message());
  }
  RedirectOnly redirect(SLUICE_REALFRAME_BPF_OBJ, kCpu, dpo.cpumapQueueSize);
  std::printf("# classification hand-over: %s\n", (*dp)->mode().xdpMetadata
                                                      ? "XDP metadata (tc reads XDP's decision)"
                                                      : (*dp)->mode().reason.c_str());
  auto kinds = frameKinds();
  std::string liveReason;
  bool live = topo.inShaper([&] {
    return probeLiveFrames(redirect.programFd(), topo.i1Ifindex(), kinds[0].frames[0], &liveReason);
  });
  std::printf("# BPF_F_TEST_XDP_LIVE_FRAMES: %s\n",
              live ? "accepted by this kernel: its table follows trafgen's"
                   : ("refused (" + liveReason + "); frames come from trafgen").c_str());
  std::printf("# %d rounds (medians), %.1f s windows after %.1f s warm-up, offered: %s\n\n",
              o.rounds, o.seconds, o.warmupSeconds,
              o.ratePps ? fmt::format("{} pps", o.ratePps).c_str() : "one trafgen sender, max");

  std::vector<std::string> failures;
  std::vector<KindResult> results(kinds.size());
  const Programs sluiceProgs{(*dp)->xdpProgramFd(), (*dp)->tcProgramFd(), (*dp)->statsMapFd()};
  const Programs baseProgs{redirect.programFd(), -1, -1};
  for (size_t k = 0; k < kinds.size(); ++k) {
    writeTrafgenConfig(kinds[k].frames, fmt::format("{}/kind{}.cfg", o.workDir, k));
  }
  for (int round = 0; o.paths && round < o.rounds; ++round) {
    for (size_t k = 0; k < kinds.size(); ++k) {
      const auto& kind = kinds[k];
      std::string cfg = fmt::format("{}/kind{}.cfg", o.workDir, k);
      std::string log = fmt::format("{}/trafgen.log", o.workDir);
      Window s, b;
      {
        auto att = PathAttachment::sluice(topo, **dp);
        s = measureWindow(topo, sluiceProgs, cfg, o.ratePps, kind.expectedClasses, o, log);
      }
      {
        auto att = PathAttachment::redirectOnly(topo, redirect.programFd());
        b = measureWindow(topo, baseProgs, cfg, o.ratePps, {"1:2", "2:2"}, o, log);
      }
      auto& r = results[k];
      r.pps.push_back(s.forwardedPps);
      r.offered.push_back(s.offeredPps);
      r.xdpNs.push_back(s.xdpNs);
      r.tcNs.push_back(s.tcNs);
      r.basePps.push_back(b.forwardedPps);
      r.baseNs.push_back(b.xdpNs);
      double pct = s.leafPackets ? 100.0 * static_cast<double>(s.expectedPackets) /
                                       static_cast<double>(s.leafPackets)
                                 : 0.0;
      r.classifiedPct.push_back(pct);
      const uint64_t tcPackets = s.stats[SLUICE_STAT_TC_PACKETS];
      r.metaPct.push_back(tcPackets
                              ? 100.0 * static_cast<double>(s.stats[SLUICE_STAT_TC_FROM_META]) /
                                    static_cast<double>(tcPackets)
                              : 0.0);
      auto where = fmt::format("round {} {}", round + 1, kind.name);
      if (s.forwardedPps <= 0 || s.xdpRuns == 0 || s.tcRuns == 0) {
        failures.push_back(where + ": Sluice path forwarded nothing or a program never ran");
      } else if (pct < 99.0) {
        failures.push_back(fmt::format("{}: only {:.2f} % of {} packets in {}", where, pct,
                                       s.leafPackets, fmt::join(kind.expectedClasses, ",")));
      }
      if (b.forwardedPps <= 0 || b.defaultPackets < b.leafPackets * 99 / 100) {
        failures.push_back(where + ": redirect-only path forwarded nothing into M:2");
      }
      std::fprintf(stderr,
                   "%s: Sluice %.0f pps (xdp %.1f ns, tc %.1f ns, %.2f %% classified), "
                   "redirect-only %.0f pps (%.1f ns)\n",
                   where.c_str(), s.forwardedPps, s.xdpNs, s.tcNs, pct, b.forwardedPps, b.xdpNs);
    }
  }

  if (o.paths) {
    std::printf(
        "| frame kind | frame bytes | offered pps | forwarded pps | sluice_xdp ns | "
        "sluice_tc ns | tc from XDP metadata | in expected class | redirect-only forwarded pps | "
        "redirect-only XDP ns | XDP ratio | XDP + tc ratio |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t k = 0; k < kinds.size(); ++k) {
      const auto& r = results[k];
      double xdp = median(r.xdpNs), tc = median(r.tcNs), base = median(r.baseNs);
      size_t lo = SIZE_MAX, hi = 0;
      for (const auto& f : kinds[k].frames) {
        lo = std::min(lo, f.size());
        hi = std::max(hi, f.size());
      }
      std::string bytes = lo == hi ? std::to_string(lo) : fmt::format("{}–{}", lo, hi);
      std::printf(
          "| %s | %s | %.0f | %.0f | %.1f | %.1f | %.1f %% | %.2f %% | %.0f | %.1f | %.2f | %.2f "
          "|\n",
          kinds[k].name.c_str(), bytes.c_str(), median(r.offered), median(r.pps), xdp, tc,
          median(r.metaPct), median(r.classifiedPct), median(r.basePps), base,
          base > 0 ? xdp / base : 0, base > 0 ? (xdp + tc) / base : 0);
    }
  }

  if (live && o.live) {
    std::printf(
        "\nlive frames: BPF_F_TEST_XDP_LIVE_FRAMES test runs of %u frames each on CPU 0 "
        "(no trafgen, no veth on the sending side), one flow per kind\n\n",
        o.liveFrames);
    std::printf(
        "| frame kind | injected pps | forwarded pps | sluice_xdp ns | sluice_tc ns | "
        "in expected class | redirect-only forwarded pps | redirect-only XDP ns |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t k = 0; k + 1 < kinds.size(); ++k) {  // one buffer per run: no mix
      if (kinds[k].frames[0][12] == 0x88 && kinds[k].frames[0][13] == 0xa8) {
        // Pages come back from the stack through the page pool with their data as the stack
        // left it (Documentation/bpf/bpf_prog_run.rst, live frame mode), and the stack strips
        // the outer tag of a QinQ frame in place (skb_vlan_untag): after the first pages are
        // recycled XDP sees a frame that no longer parses.
        std::printf(
            "| %s | not measurable in this mode: recycled pages hold the frame after "
            "the stack removed its outer tag in place |||||||\n",
            kinds[k].name.c_str());
        continue;
      }
      std::vector<double> inj, pps, xdp, tc, cls, bpps, bns;
      for (int round = 0; round < o.rounds; ++round) {
        Window s, b;
        {
          auto att = PathAttachment::sluice(topo, **dp);
          s = liveFramesWindow(topo, sluiceProgs, (*dp)->xdpProgramFd(), kinds[k].frames[0],
                               o.liveFrames, kinds[k].expectedClasses);
        }
        {
          auto att = PathAttachment::redirectOnly(topo, redirect.programFd());
          b = liveFramesWindow(topo, baseProgs, redirect.programFd(), kinds[k].frames[0],
                               o.liveFrames, {"1:2", "2:2"});
        }
        double pct = s.leafPackets ? 100.0 * static_cast<double>(s.expectedPackets) /
                                         static_cast<double>(s.leafPackets)
                                   : 0.0;
        if (s.forwardedPps <= 0 || pct < 99.0 || b.forwardedPps <= 0) {
          failures.push_back(
              fmt::format("live frames round {} {}: forwarded {:.0f} pps, {:.2f} % "
                          "in {}; redirect-only forwarded {:.0f} pps",
                          round + 1, kinds[k].name, s.forwardedPps, pct,
                          fmt::join(kinds[k].expectedClasses, ","), b.forwardedPps));
        }
        inj.push_back(s.offeredPps);
        pps.push_back(s.forwardedPps);
        xdp.push_back(s.xdpNs);
        tc.push_back(s.tcNs);
        cls.push_back(pct);
        bpps.push_back(b.forwardedPps);
        bns.push_back(b.xdpNs);
      }
      std::printf("| %s | %.0f | %.0f | %.1f | %.1f | %.2f %% | %.0f | %.1f |\n",
                  kinds[k].name.c_str(), median(inj), median(pps), median(xdp), median(tc),
                  median(cls), median(bpps), median(bns));
    }
  }

  if (o.reload) {
    auto rows = reloadPenalty(topo, **dp, o, failures);
    std::printf(
        "\nreload penalty: %d IPv4 subscribers round robin at %llu pps offered, CPU 1 "
        "republishing %d mappings in a loop (busy) or idle\n\n",
        kReloadSubscribers, static_cast<unsigned long long>(o.reloadRatePps), kReloadMappings);
    std::printf(
        "| variant | XDP ns idle | XDP ns busy | busy/idle | tc ns idle | tc ns busy | "
        "offered pps | forwarded pps idle / busy | republishes | misclassified (HTB M:2) | XDP "
        "default-class verdicts |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const auto& r : rows) {
      std::printf(
          "| %s | %.1f | %.1f | %.2f | %.1f | %.1f | %.0f | %.0f / %.0f | %.0f | %.3f %% | "
          "%.3f %% |\n",
          r.variant.c_str(), r.idleXdpNs, r.busyXdpNs,
          r.idleXdpNs > 0 ? r.busyXdpNs / r.idleXdpNs : 0, r.idleTcNs, r.busyTcNs, r.offeredPps,
          r.idlePps, r.busyPps, r.republishes, r.misclassifiedPct, r.xdpDefaultPct);
    }
  }
  std::printf("\n# load average after: %s\n", loadAverage().c_str());
  std::system(("rm -rf " + o.workDir).c_str());
  if (!failures.empty()) {
    for (const auto& f : failures) {
      std::fprintf(stderr, "bench_realframe: FAILED: %s\n", f.c_str());
    }
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_realframe: %s\n", e.what());
  return 1;
}
