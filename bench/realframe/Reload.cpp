// The reload penalty with real frames (docs/dataplane.md): what the control plane republishing
// its mappings costs the packets crossing the path at the same time, and how many of them land
// in the wrong HTB class.

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "Bench.h"
#include "Frames.h"
#include "dataplane/BpfMapWriter.h"

namespace sluice::realframe {
namespace {

void pinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// LibreQoS 1.4's reload as bench_dataplane reproduces it: delete every LPM entry, write every
// entry again, delete every hot-cache entry (no epoch, so nothing else invalidates). Throws on
// a refused map operation: an emulation that silently did nothing would report 0 % lost.
void libreqosStyleRepublish(dataplane::Dataplane& dp, const std::vector<sluice_lpm_key>& keys,
                            const std::vector<sluice_mapping>& values) {
  // Sluice answers one-address prefixes from its exact host-route map before the trie;
  // LibreQoS has the trie only, so both are emptied and refilled (as bench_dataplane does).
  auto check = [](int rc, const char* what) {
    if (rc != 0) {
      throw std::runtime_error(std::string("LibreQoS-style ") + what + ": " + std::strerror(errno));
    }
  };
  for (const auto& k : keys) {
    check(bpf_map_delete_elem(dp.lpmMapFd(), &k), "LPM delete");
    if (k.prefixlen == 128) {
      check(bpf_map_delete_elem(dp.hostRouteMapFd(), k.addr), "host-route delete");
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    check(bpf_map_update_elem(dp.lpmMapFd(), &keys[i], &values[i], BPF_ANY), "LPM update");
    if (keys[i].prefixlen == 128) {
      check(bpf_map_update_elem(dp.hostRouteMapFd(), keys[i].addr, &values[i], BPF_ANY),
            "host-route update");
    }
  }
  std::vector<sluice_addr> hot;
  sluice_addr key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(dp.hotCacheMapFd(), prev, &next) == 0) {
    hot.push_back(next);
    key = next;
    prev = &key;
  }
  for (const auto& h : hot) {
    if (bpf_map_delete_elem(dp.hotCacheMapFd(), &h) != 0 && errno != ENOENT) {
      throw std::runtime_error(std::string("LibreQoS-style hot-cache wipe: ") +
                               std::strerror(errno));
    }
  }
}

double pct(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

}  // namespace

std::vector<ReloadRow> reloadPenalty(const Topology& topo, dataplane::Dataplane& dp,
                                     const Options& o, std::vector<std::string>& failures) {
  const auto maps = benchMappings(1);
  std::vector<sluice_lpm_key> keys;
  std::vector<sluice_mapping> values;
  for (const auto& m : maps) {
    keys.push_back(dataplane::toLpmKey(m.prefix));
    values.push_back(dataplane::toLpmValue(m));
  }
  dataplane::BpfMapWriter writer(dp.lpmMapFd(), dp.epochMapFd());
  const FrameKind frames = reloadFrames();
  const std::string cfg = o.workDir + "/reload.cfg";
  writeTrafgenConfig(frames.frames, cfg);
  const Programs progs{dp.xdpProgramFd(), dp.tcProgramFd(), dp.statsMapFd()};

  struct Variant {
    const char* name;
    uint32_t flags;
    bool libreqos;
    bool spinOnly = false;  ///< control: CPU 1 busy without touching any map
  };
  const Variant variants[] = {
      {"epoch republish, flows on (Sluice default)", 0, false},
      {"epoch republish, flows off", SLUICE_CFG_NO_FLOWS, false},
      {"LibreQoS 1.4 style (delete all, re-add, wipe hot cache), flows off", SLUICE_CFG_NO_FLOWS,
       true},
      {"control: CPU 1 spins without writing, flows on", 0, false, true},
  };
  auto att = PathAttachment::sluice(topo, dp);
  std::vector<ReloadRow> rows;
  for (const auto& v : variants) {
    std::vector<double> offered, idleXdp, busyXdp, idleTc, busyTc, idlePps, busyPps, rounds, mis,
        xdpDef;
    if (auto r = dp.setRuntimeConfig({v.flags, {1, 1}}); !r) {
      throw std::runtime_error("runtime config: " + r.error().message());
    }
    for (int round = 0; round < o.rounds; ++round) {
      Window idle, busy;
      std::atomic<int> republishes{0};
      {
        Trafgen sender(topo.inet(), "i0", cfg, o.reloadRatePps, o.workDir + "/trafgen.log");
        std::this_thread::sleep_for(std::chrono::duration<double>(o.warmupSeconds));
        auto a = snapshot(topo, progs);
        std::this_thread::sleep_for(std::chrono::duration<double>(o.reloadSeconds));
        auto b = snapshot(topo, progs);
        std::atomic<bool> stop{false};
        std::string writerError;
        std::thread control([&] {
          pinToCpu(1);
          while (!stop.load()) {
            if (v.spinOnly) {
              auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
              while (!stop.load(std::memory_order_relaxed) &&
                     std::chrono::steady_clock::now() < until) {
              }
              continue;  // no republish counted
            }
            if (v.libreqos) {
              libreqosStyleRepublish(dp, keys, values);
            } else if (auto r = writer.publish(maps); !r) {
              writerError = r.error().message();
              return;
            }
            ++republishes;
          }
        });
        auto c = snapshot(topo, progs);
        std::this_thread::sleep_for(std::chrono::duration<double>(o.reloadSeconds));
        auto d = snapshot(topo, progs);
        stop = true;
        control.join();
        if (!writerError.empty()) {
          throw std::runtime_error("republish: " + writerError);
        }
        idle = difference(a, b, frames.expectedClasses);
        busy = difference(c, d, frames.expectedClasses);
      }
      if (v.libreqos) {  // leave a complete table (and a fresh epoch) for the next variant
        if (auto r = writer.publish(maps); !r) {
          throw std::runtime_error("republish: " + r.error().message());
        }
      }
      auto where = fmt::format("reload round {} {}", round + 1, v.name);
      if (idle.forwardedPps <= 0 || busy.forwardedPps <= 0 || busy.leafPackets == 0) {
        failures.push_back(where + ": nothing forwarded");
      }
      if (idle.defaultPackets != 0) {
        failures.push_back(
            fmt::format("{}: {} packets in M:2 without any reload", where, idle.defaultPackets));
      }
      offered.push_back(busy.offeredPps);
      idleXdp.push_back(idle.xdpNs);
      busyXdp.push_back(busy.xdpNs);
      idleTc.push_back(idle.tcNs);
      busyTc.push_back(busy.tcNs);
      idlePps.push_back(idle.forwardedPps);
      busyPps.push_back(busy.forwardedPps);
      rounds.push_back(republishes.load());
      mis.push_back(pct(busy.defaultPackets, busy.leafPackets));
      xdpDef.push_back(
          pct(busy.stats[SLUICE_STAT_DEFAULT_CLASS], busy.stats[SLUICE_STAT_XDP_PACKETS]));
      std::fprintf(stderr,
                   "%s: XDP %.1f -> %.1f ns, offered %.0f / %.0f pps, forwarded %.0f / %.0f pps, "
                   "%d republishes, %.3f %% in M:2 (busy: %llu LPM misses, %llu negative hot-cache "
                   "hits, %llu LPM hits)\n",
                   where.c_str(), idle.xdpNs, busy.xdpNs, idle.offeredPps, busy.offeredPps,
                   idle.forwardedPps, busy.forwardedPps, republishes.load(), mis.back(),
                   static_cast<unsigned long long>(busy.stats[SLUICE_STAT_LPM_MISS]),
                   static_cast<unsigned long long>(busy.stats[SLUICE_STAT_HOT_NEGATIVE_HIT]),
                   static_cast<unsigned long long>(busy.stats[SLUICE_STAT_LPM_HIT]));
    }
    rows.push_back({v.name, median(idleXdp), median(busyXdp), median(idleTc), median(busyTc),
                    median(offered), median(idlePps), median(busyPps), median(rounds), median(mis),
                    median(xdpDef)});
  }
  if (auto r = dp.setRuntimeConfig({0, {1, 1}}); !r) {
    throw std::runtime_error("runtime config: " + r.error().message());
  }
  return rows;
}

}  // namespace sluice::realframe
