#pragma once
// Shared pieces of bench_realframe: options, which XDP/tc programs sit on the path, and one
// measurement window of trafgen traffic.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "Sender.h"
#include "Topology.h"
#include "dataplane/Attach.h"
#include "dataplane/Dataplane.h"

namespace sluice::realframe {

struct Options {
  int rounds = 3;                    ///< each measurement this many times; tables show medians
  double warmupSeconds = 0.5;        ///< trafgen running before a window opens (flows created)
  double seconds = 2.0;              ///< length of one window
  uint64_t ratePps = 0;              ///< path runs: 0 = one trafgen sender as fast as it goes
  uint64_t reloadRatePps = 100'000;  ///< reload runs: offered rate, below the path's capacity
  double reloadSeconds = 3.0;        ///< reload runs: idle window, then busy window, each
  uint32_t liveFrames = 1'000'000;   ///< frames per live-frames test run (where the kernel allows)
  bool paths = true;                 ///< the trafgen table
  bool live = true;                  ///< the live-frames table (where the kernel accepts the flag)
  bool reload = true;                ///< the reload-penalty table
  bool holder = false;               ///< a TBF holder between mq and each HTB ([sluice] queue_holder)
  std::string workDir;               ///< trafgen configurations and logs
};

/// The programs on the path for one run, attached in the shaper namespace for the object's life
/// (detached by the destructor).
class PathAttachment {
 public:
  /// Sluice: sluice_xdp on i1 and s1, sluice_tc on both egresses (as sluiced attaches them).
  static std::unique_ptr<PathAttachment> sluice(const Topology& topo,
                                                const dataplane::Dataplane& dp);
  /// Redirect-only: `progFd` on i1, no tc program (HTB puts every frame in M:2).
  static std::unique_ptr<PathAttachment> redirectOnly(const Topology& topo, int progFd);
  ~PathAttachment();

 private:
  explicit PathAttachment(const Topology& topo) : topo_(topo) {}
  const Topology& topo_;
  std::vector<dataplane::XdpAttachment> xdp_;
  std::vector<dataplane::TcAttachment> tc_;
};

/// trafgen sends `config` (at `ratePps`, 0 = as fast as it goes) for warm-up + one window;
/// returns the window.
Window measureWindow(const Topology& topo, const Programs& progs, const std::string& config,
                     uint64_t ratePps, const std::vector<std::string>& expected, const Options& o,
                     const std::string& log);

/// One BPF_F_TEST_XDP_LIVE_FRAMES test run of `xdpFd` on `frames` copies of `frame` arriving on
/// i1, pinned to CPU 0; offered/forwarded pps are over the test run's wall time (the sink is
/// read 200 ms after it, once CPU 1 drained the cpumap). Throws std::runtime_error with the errno
/// text when the kernel refuses. Only called where probeLiveFrames() said yes.
Window liveFramesWindow(const Topology& topo, const Programs& progs, int xdpFd,
                        const std::vector<uint8_t>& frame, uint32_t frames,
                        const std::vector<std::string>& expected);

/// One row of the reload-penalty table (medians over the rounds).
struct ReloadRow {
  std::string variant;
  double idleXdpNs = 0, busyXdpNs = 0, idleTcNs = 0, busyTcNs = 0;
  double offeredPps = 0, idlePps = 0, busyPps = 0;
  double republishes = 0;       ///< per busy window
  double misclassifiedPct = 0;  ///< mapped subscribers' packets in HTB's default classes
  double xdpDefaultPct = 0;     ///< XDP verdicts "unknown address" among its packets
};

/// CPU 1 republishes benchMappings() in a loop while trafgen sends reloadFrames(); idle window
/// first, busy window right after, in the same trafgen run, per variant: epoch republish with
/// flows on (Sluice's default) and off, LibreQoS 1.4's reload (delete all, re-add, wipe the
/// hot cache; flows off), and a control where CPU 1 only spins (what a busy CPU 1 alone costs
/// the path). Appends failures (e.g. no traffic) to `failures`.
std::vector<ReloadRow> reloadPenalty(const Topology& topo, dataplane::Dataplane& dp,
                                     const Options& o, std::vector<std::string>& failures);

}  // namespace sluice::realframe
