#pragma once
// The loaded data plane: the libbpf skeleton of bpf/sluice.bpf.c (XDP + tc programs and their
// maps) behind an RAII owner. Maps are reached through the skeleton, never by name.
//
// Pinning: with a pin directory every map except the RTT ring buffer is pinned there by name
// (bpffs is mounted on /sys/fs/bpf first if it is not). A later open() with the same directory
// reuses those maps, so attached programs keep classifying while the daemon restarts. Pinned
// maps whose layout differs (another ABI version, key/value size, type, capacity or flags) are
// removed with a warning naming the map and the difference, and created afresh.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "abi/sluice_abi.h"
#include "common/Error.h"

struct sluice_bpf;

namespace sluice::dataplane {

/// Whether sluice_xdp hands its decision to sluice_tc in a metadata block in front of the packet.
enum class XdpMetadata {
  Auto,  ///< where probeXdpAdjustMeta() says the kernel allows it
  Off,   ///< never ([sluice] xdp_metadata = "off", tests): tc repeats the lookup for every packet
};

struct DataplaneOptions {
  /// Pin directory, e.g. "/sys/fs/bpf/sluice/<instance>"; empty = no pinning (tests, benches).
  std::string pinDir;
  uint32_t internetIfindex = 0;  ///< bridge: Internet-facing port (its ingress = download)
  uint32_t networkIfindex = 0;   ///< bridge: subscriber-facing port (its ingress = upload)
  bool onAStick = false;         ///< direction by VLAN instead of by interface
  uint16_t internetVlan = 0;     ///< on a stick: VLAN id towards the Internet
  uint16_t networkVlan = 0;      ///< on a stick: VLAN id towards subscribers
  bool cpuRedirect = true;       ///< false: XDP passes instead of redirecting through the cpumap
  /// Bridge mode without a Linux bridge (lqos.conf use_xdp_bridge): tcBridgeProgramFd() forwards
  /// every frame from one port to the other when attached to both ports' ingress.
  bool xdpBridge = false;
  uint32_t lpmCapacity = 1u << 20;   ///< prefixes
  uint32_t flowCapacity = 262'144;   ///< flows (LRU)
  uint32_t hotCacheCapacity = 65'536;  ///< addresses (LRU)
  uint32_t hostCapacity = 65'536;      ///< hosts counted per address (LRU, per CPU)
  /// Hosts counted through a slot (one-address mappings), descriptor included; per-CPU array,
  /// preallocated: 144 bytes x capacity x possible CPUs (9.4 MB per CPU at the default).
  uint32_t hostSlotCapacity = 65'536;
  uint32_t cpumapQueueSize = 2048;     ///< frames queued per CPU in the cpumap
  XdpMetadata xdpMetadata = XdpMetadata::Auto;
  /// Tests only: XDP records its last decision in a map (Dataplane::takeXdpDecision()).
  bool traceXdpDecisions = false;
};

/// How the loaded data plane passes XDP's classification to tc.
struct DataplaneMode {
  bool xdpMetadata = false;  ///< true: tc reads XDP's metadata block; false: tc repeats the lookup
  /// One sentence for operators, e.g. "XDP metadata unavailable on this kernel: tc repeats the
  /// lookup (program of this type cannot use helper bpf_xdp_adjust_meta#54)".
  std::string reason;
};

/// Whether programs of `type` may call `helper`: a trial load of a four-instruction program that
/// calls it with (ctx, -16). true = accepted; false = the verifier refused the program
/// (`refusal`, if given, receives the verifier's last line, e.g. "program of this type cannot
/// use helper bpf_xdp_adjust_meta#54"). libbpf_probe_bpf_helper() is not used because libbpf 1.1
/// (Debian 12) only knows the older "unknown func" wording and reports such a helper as
/// available. Errors: the bpf(2) errno when nothing can be loaded at all (EPERM without
/// CAP_BPF).
Result<bool> probeHelper(bpf_prog_type type, bpf_func_id helper, std::string* refusal = nullptr);

/// probeHelper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_adjust_meta): whether XDP may write metadata.
Result<bool> probeXdpAdjustMeta(std::string* refusal = nullptr);

/// Run-time settings of the config map.
struct RuntimeConfig {
  uint32_t flags = 0;             ///< SLUICE_CFG_* (bypass, no flows, no hot cache)
  std::vector<uint32_t> queueCpu = {0};  ///< queue -> CPU; size = queues per direction (1..256)
};

class Dataplane {
 public:
  /// Opens the skeleton, applies `options` (rodata, capacities, cpumap sized from
  /// libbpf_num_possible_cpus()), handles pinning (see above) and loads the programs. A fresh
  /// config map gets RuntimeConfig{} (one queue on CPU 0); reused pinned maps keep their state.
  /// Every possible CPU gets a cpumap entry of cpumapQueueSize. Errors: EINVAL for bad options,
  /// otherwise the errno of the failing libbpf/bpf call (verifier rejection: see the log).
  static Result<std::unique_ptr<Dataplane>> open(const DataplaneOptions& options);
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  int xdpProgramFd() const;
  int tcProgramFd() const;
  /// The port-to-port forwarder for tc ingress (DataplaneOptions::xdpBridge).
  int tcBridgeProgramFd() const;
  /// The trivial XDP_PASS program of the same object (benchmark baseline).
  int xdpPassProgramFd() const;

  int lpmMapFd() const;
  /// The LPM's one-address prefixes by exact address (written by the map writer with the LPM).
  int hostRouteMapFd() const;
  int hotCacheMapFd() const;
  int flowMapFd() const;
  int epochMapFd() const;
  int configMapFd() const;
  /// The host counters as the readers take them (dataplane/Readers.h forEachHost): the host slot
  /// array, whose descriptor names the per-address map.
  int hostMapFd() const;
  /// The per-address host map alone (LRU per CPU): unknown hosts, hosts inside wider prefixes.
  int addressHostMapFd() const;
  int statsMapFd() const;
  int cpuMapFd() const;
  int rttRingFd() const;

  /// Writes the config map (one element). EINVAL when queueCpu is empty or longer than
  /// SLUICE_MAX_QUEUES; otherwise the bpf_map_update_elem errno.
  Result<void> setRuntimeConfig(const RuntimeConfig& config);
  /// Reads it back.
  Result<RuntimeConfig> runtimeConfig() const;

  const DataplaneOptions& options() const { return options_; }
  /// The mode chosen at open() (probe result or options.xdpMetadata = Off).
  const DataplaneMode& mode() const { return mode_; }

  /// Takes the last XDP decision as {magic, classid, cpu, flags} when traceXdpDecisions is set,
  /// and clears it: magic is 0 when no packet reached a decision since the last take. EINVAL
  /// when tracing is off, else the map call's errno.
  Result<sluice_xdp_meta> takeXdpDecision();

 private:
  Dataplane(sluice_bpf* skel, DataplaneOptions options, DataplaneMode mode);
  sluice_bpf* skel_;
  DataplaneOptions options_;
  DataplaneMode mode_;
};

/// Makes sure `dir` exists on a bpf filesystem: a directory already on a bpffs mount (for example
/// one a namespace lab mounted under /run, which survives `ip netns exec` remounting /sys) is used
/// as is; a directory under /sys/fs/bpf gets a bpffs mounted there first (mode 0700) when none is.
/// Errors: EINVAL for a directory elsewhere that is not on a bpffs; the failing mount/mkdir errno.
Result<void> ensureBpffsDir(const std::string& dir);

}  // namespace sluice::dataplane
