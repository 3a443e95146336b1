#include "dataplane/Dataplane.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

#include "dataplane/HostSlots.h"
#include "dataplane/LibbpfLog.h"
#include "sluice.skel.h"

namespace sluice::dataplane {
namespace {

constexpr const char* kBpffsRoot = "/sys/fs/bpf";

struct SkelDeleter {
  void operator()(sluice_bpf* s) const { sluice_bpf__destroy(s); }
};
using SkelPtr = std::unique_ptr<sluice_bpf, SkelDeleter>;

std::vector<bpf_map*> pinnedMaps(sluice_bpf* s) {
  return {s->maps.sluice_lpm,   s->maps.sluice_hot,   s->maps.sluice_flows, s->maps.sluice_epoch,
          s->maps.sluice_config, s->maps.sluice_hosts, s->maps.sluice_stats, s->maps.sluice_cpus,
          s->maps.sluice_abi,   s->maps.sluice_host_slots, s->maps.sluice_host_routes};
}

// What differs between a pinned map and the one this build would create; empty when reusable.
std::string layoutDifference(int fd, const bpf_map* map) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    return fmt::format("unreadable ({})", std::strerror(errno));
  }
  if (info.type != bpf_map__type(map)) {
    return fmt::format("type {} != {}", info.type, static_cast<int>(bpf_map__type(map)));
  }
  if (info.key_size != bpf_map__key_size(map) || info.value_size != bpf_map__value_size(map)) {
    return fmt::format("key/value size {}/{} != {}/{}", info.key_size, info.value_size,
                       bpf_map__key_size(map), bpf_map__value_size(map));
  }
  if (info.max_entries != bpf_map__max_entries(map)) {
    return fmt::format("capacity {} != {}", info.max_entries, bpf_map__max_entries(map));
  }
  if (info.map_flags != bpf_map__map_flags(map)) {
    return fmt::format("flags {:#x} != {:#x}", info.map_flags, bpf_map__map_flags(map));
  }
  return {};
}

// ABI version recorded in a pinned sluice_abi map; 0 when absent or unreadable.
uint32_t pinnedAbiVersion(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    return 0;
  }
  uint32_t key = 0;
  sluice_abi_info info{};
  int rc = bpf_map_lookup_elem(fd, &key, &info);
  close(fd);
  return rc == 0 ? info.version : 0;
}

// Points every pinnable map at dir/<name>, dropping pinned maps that this build cannot reuse.
Result<void> preparePins(sluice_bpf* s, const std::string& dir) {
  std::string abiPath = dir + "/sluice_abi";
  bool abiExists = access(abiPath.c_str(), F_OK) == 0;
  uint32_t version = abiExists ? pinnedAbiVersion(abiPath) : SLUICE_ABI_VERSION;
  bool dropAll = version != SLUICE_ABI_VERSION;
  if (dropAll) {
    spdlog::warn("dataplane: pinned maps in {} are ABI version {}, this build is {}; replacing "
                 "all of them (mappings, flows and counters start empty)",
                 dir, version, SLUICE_ABI_VERSION);
  }
  for (bpf_map* map : pinnedMaps(s)) {
    std::string path = dir + "/" + bpf_map__name(map);
    if (access(path.c_str(), F_OK) == 0) {
      std::string why;
      if (dropAll) {
        why = "ABI version";
      } else {
        int fd = bpf_obj_get(path.c_str());
        why = fd < 0 ? std::string("cannot open: ") + std::strerror(errno)
                     : layoutDifference(fd, map);
        if (fd >= 0) {
          close(fd);
        }
        if (!why.empty()) {
          spdlog::warn("dataplane: pinned map {} has a different layout ({}); replacing it",
                       path, why);
        }
      }
      if (!why.empty() && unlink(path.c_str()) != 0) {
        return makeError(errno, "unlink " + path);
      }
    }
    if (int rc = bpf_map__set_pin_path(map, path.c_str()); rc != 0) {
      return makeError(-rc, "bpf_map__set_pin_path " + path);
    }
  }
  return {};
}

Result<void> populateCpumap(sluice_bpf* s, uint32_t possible, uint32_t qsize) {
  int fd = bpf_map__fd(s->maps.sluice_cpus);
  uint32_t ok = 0;
  for (uint32_t cpu = 0; cpu < possible; ++cpu) {
    bpf_cpumap_val val{};
    val.qsize = qsize;
    if (bpf_map_update_elem(fd, &cpu, &val, BPF_ANY) == 0) {
      ++ok;
    } else {
      spdlog::debug("dataplane: cpumap entry for CPU {} refused: {}", cpu, std::strerror(errno));
    }
  }
  if (ok == 0) {
    return makeError(errno, "cpumap: no CPU accepted an entry");
  }
  return {};
}

// Chooses the metadata mode for `options`: the probe decides unless the options say Off.
Result<DataplaneMode> chooseMode(const DataplaneOptions& options) {
  constexpr const char* kLookup = "tc repeats the lookup for every packet";
  if (options.xdpMetadata == XdpMetadata::Off) {
    return DataplaneMode{false, fmt::format("XDP metadata off by configuration: {}", kLookup)};
  }
  std::string refusal;
  auto allowed = probeXdpAdjustMeta(&refusal);
  if (!allowed) {
    return std::unexpected(allowed.error());
  }
  if (*allowed) {
    return DataplaneMode{true, "XDP metadata: tc classifies from XDP's decision"};
  }
  return DataplaneMode{
      false, fmt::format("XDP metadata unavailable on this kernel: {} ({})", kLookup, refusal)};
}

}  // namespace

Result<bool> probeHelper(bpf_prog_type type, bpf_func_id helper, std::string* refusal) {
  // r1 = ctx (on entry); r2 = -16; call helper; r0 = 0; exit. The program's verdict does not
  // matter: only whether the verifier accepts the call.
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = -16},
      {.code = BPF_JMP | BPF_CALL, .imm = helper},
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT},
  };
  char log[4096] = {};
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1, .log_size = sizeof(log), .log_buf = log);
  int fd = bpf_prog_load(type, "sluice_probe", "GPL", insns, sizeof(insns) / sizeof(insns[0]),
                         &opts);
  if (fd >= 0) {
    close(fd);
    return true;
  }
  const int err = -fd;
  if (err != EINVAL && err != EACCES) {  // EINVAL/EACCES: the verifier said no; else no BPF at all
    return makeError(err, fmt::format("probe: load a program of type {}", static_cast<int>(type)));
  }
  if (refusal) {
    // The verifier's reason is its last line before its statistics ("processed N insns ...").
    std::string_view text(log);
    refusal->clear();
    while (!text.empty()) {
      while (!text.empty() && text.back() == '\n') {
        text.remove_suffix(1);
      }
      const size_t nl = text.rfind('\n');
      const std::string_view line = nl == std::string_view::npos ? text : text.substr(nl + 1);
      if (!line.starts_with("processed ") && !line.starts_with("verification time")) {
        *refusal = std::string(line);
        break;
      }
      text = nl == std::string_view::npos ? std::string_view() : text.substr(0, nl);
    }
    if (refusal->empty()) {
      *refusal = std::strerror(err);
    }
  }
  return false;
}

Result<bool> probeXdpAdjustMeta(std::string* refusal) {
  return probeHelper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_adjust_meta, refusal);
}

Result<void> ensureBpffsDir(const std::string& dir) {
  namespace fs = std::filesystem;
  // The nearest existing ancestor tells which filesystem the pins would land on.
  fs::path probe = fs::path(dir).lexically_normal();
  while (!probe.empty() && !fs::exists(probe)) {
    probe = probe.parent_path();
  }
  struct statfs st{};
  const bool onBpffs = statfs(probe.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC;
  if (!onBpffs) {
    const std::string root = kBpffsRoot;
    if (dir != root && !dir.starts_with(root + "/")) {
      return makeError(EINVAL, "pin directory " + dir + " is not on a bpf filesystem",
                       "mount one there (mount -t bpf bpf DIR) or pin under /sys/fs/bpf");
    }
    spdlog::info("dataplane: mounting bpffs on {}", kBpffsRoot);
    if (mount("bpf", kBpffsRoot, "bpf", 0, "mode=0700") != 0) {
      return makeError(errno, std::string("mount -t bpf bpf ") + kBpffsRoot);
    }
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return makeError(ec.value(), "mkdir -p " + dir);
  }
  return {};
}

Result<std::unique_ptr<Dataplane>> Dataplane::open(const DataplaneOptions& options) {
  routeLibbpfLogToSpdlog();
  if (options.lpmCapacity == 0 || options.flowCapacity == 0 || options.hotCacheCapacity == 0 ||
      options.hostCapacity == 0 || options.hostSlotCapacity == 0) {
    return makeError(EINVAL, "dataplane options: map capacities must be positive");
  }
  int possible = libbpf_num_possible_cpus();
  if (possible <= 0) {
    return makeError(-possible, "libbpf_num_possible_cpus");
  }
  SkelPtr skel(sluice_bpf__open());
  if (!skel) {
    return makeError(errno, "sluice_bpf__open");
  }
  sluice_bpf* s = skel.get();
  s->rodata->cfg_internet_ifindex = options.internetIfindex;
  s->rodata->cfg_network_ifindex = options.networkIfindex;
  s->rodata->cfg_on_a_stick = options.onAStick ? 1 : 0;
  s->rodata->cfg_internet_vlan = options.internetVlan;
  s->rodata->cfg_network_vlan = options.networkVlan;
  s->rodata->cfg_xdp_bridge = options.xdpBridge ? 1 : 0;
  s->rodata->cfg_cpu_redirect = options.cpuRedirect ? 1 : 0;
  auto mode = chooseMode(options);
  if (!mode) {
    return std::unexpected(mode.error());
  }
  s->rodata->cfg_xdp_meta = mode->xdpMetadata ? 1 : 0;
  s->rodata->cfg_xdp_trace = options.traceXdpDecisions ? 1 : 0;
  if (!mode->xdpMetadata) {
    spdlog::warn("dataplane: {}", mode->reason);
  }

  // A cpumap may not be larger than the possible CPUs (E2BIG), DESIGN §5.
  bpf_map__set_max_entries(s->maps.sluice_cpus, static_cast<uint32_t>(possible));
  bpf_map__set_max_entries(s->maps.sluice_lpm, options.lpmCapacity);
  bpf_map__set_max_entries(s->maps.sluice_host_routes, options.lpmCapacity);
  bpf_map__set_max_entries(s->maps.sluice_flows, options.flowCapacity);
  bpf_map__set_max_entries(s->maps.sluice_hot, options.hotCacheCapacity);
  bpf_map__set_max_entries(s->maps.sluice_hosts, options.hostCapacity);
  bpf_map__set_max_entries(s->maps.sluice_host_slots, options.hostSlotCapacity);

  if (options.pinDir.empty()) {
    for (bpf_map* map : pinnedMaps(s)) {
      bpf_map__set_pin_path(map, nullptr);
    }
  } else {
    if (auto ok = ensureBpffsDir(options.pinDir); !ok) {
      return std::unexpected(ok.error());
    }
    if (auto ok = preparePins(s, options.pinDir); !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (int rc = sluice_bpf__load(s); rc != 0) {
    return makeError(-rc, "load sluice.bpf.o", "see the libbpf log for the verifier output");
  }

  uint32_t zero = 0;
  sluice_abi_info abi{SLUICE_ABI_VERSION, 0};
  if (bpf_map_update_elem(bpf_map__fd(s->maps.sluice_abi), &zero, &abi, BPF_ANY) != 0) {
    return makeError(errno, "write sluice_abi");
  }
  if (auto ok = initHostSlots(bpf_map__fd(s->maps.sluice_host_slots),
                              bpf_map__fd(s->maps.sluice_hosts),
                              bpf_map__fd(s->maps.sluice_host_routes),
                              bpf_map__fd(s->maps.sluice_epoch));
      !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = populateCpumap(s, static_cast<uint32_t>(possible), options.cpumapQueueSize);
      !ok) {
    return std::unexpected(ok.error());
  }
  std::unique_ptr<Dataplane> dp(new Dataplane(skel.release(), options, std::move(*mode)));
  auto current = dp->runtimeConfig();
  if (!current) {
    return std::unexpected(current.error());
  }
  if (current->queueCpu.empty()) {  // fresh config map
    if (auto ok = dp->setRuntimeConfig(RuntimeConfig{}); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return dp;
}

Dataplane::Dataplane(sluice_bpf* skel, DataplaneOptions options, DataplaneMode mode)
    : skel_(skel), options_(std::move(options)), mode_(std::move(mode)) {}

Dataplane::~Dataplane() { sluice_bpf__destroy(skel_); }

int Dataplane::xdpProgramFd() const { return bpf_program__fd(skel_->progs.sluice_xdp); }
int Dataplane::tcProgramFd() const { return bpf_program__fd(skel_->progs.sluice_tc); }
int Dataplane::tcBridgeProgramFd() const {
  return bpf_program__fd(skel_->progs.sluice_tc_bridge);
}
int Dataplane::xdpPassProgramFd() const { return bpf_program__fd(skel_->progs.sluice_xdp_pass); }
int Dataplane::lpmMapFd() const { return bpf_map__fd(skel_->maps.sluice_lpm); }
int Dataplane::hostRouteMapFd() const { return bpf_map__fd(skel_->maps.sluice_host_routes); }
int Dataplane::hotCacheMapFd() const { return bpf_map__fd(skel_->maps.sluice_hot); }
int Dataplane::flowMapFd() const { return bpf_map__fd(skel_->maps.sluice_flows); }
int Dataplane::epochMapFd() const { return bpf_map__fd(skel_->maps.sluice_epoch); }
int Dataplane::configMapFd() const { return bpf_map__fd(skel_->maps.sluice_config); }
int Dataplane::hostMapFd() const { return bpf_map__fd(skel_->maps.sluice_host_slots); }
int Dataplane::addressHostMapFd() const { return bpf_map__fd(skel_->maps.sluice_hosts); }
int Dataplane::statsMapFd() const { return bpf_map__fd(skel_->maps.sluice_stats); }
int Dataplane::cpuMapFd() const { return bpf_map__fd(skel_->maps.sluice_cpus); }
int Dataplane::rttRingFd() const { return bpf_map__fd(skel_->maps.sluice_rtt); }

Result<sluice_xdp_meta> Dataplane::takeXdpDecision() {
  if (!options_.traceXdpDecisions) {
    return makeError(EINVAL, "XDP decisions are traced only with traceXdpDecisions");
  }
  const int fd = bpf_map__fd(skel_->maps.sluice_xdp_trace);
  uint32_t zero = 0;
  sluice_xdp_meta decision{};
  if (bpf_map_lookup_elem(fd, &zero, &decision) != 0) {
    return makeError(errno, "read sluice_xdp_trace");
  }
  const sluice_xdp_meta cleared{};
  if (bpf_map_update_elem(fd, &zero, &cleared, BPF_ANY) != 0) {
    return makeError(errno, "clear sluice_xdp_trace");
  }
  return decision;
}

Result<void> Dataplane::setRuntimeConfig(const RuntimeConfig& config) {
  if (config.queueCpu.empty() || config.queueCpu.size() > SLUICE_MAX_QUEUES) {
    return makeError(EINVAL, fmt::format("config map: {} queues (1..{})", config.queueCpu.size(),
                                         SLUICE_MAX_QUEUES));
  }
  sluice_config value{};
  value.flags = config.flags;
  value.queue_count = static_cast<uint32_t>(config.queueCpu.size());
  for (size_t i = 0; i < config.queueCpu.size(); ++i) {
    value.queue_cpu[i] = config.queueCpu[i];
  }
  uint32_t zero = 0;
  if (bpf_map_update_elem(configMapFd(), &zero, &value, BPF_ANY) != 0) {
    return makeError(errno, "write config map");
  }
  return {};
}

Result<RuntimeConfig> Dataplane::runtimeConfig() const {
  sluice_config value{};
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(configMapFd(), &zero, &value) != 0) {
    return makeError(errno, "read config map");
  }
  RuntimeConfig config;
  config.flags = value.flags;
  uint32_t n = value.queue_count > SLUICE_MAX_QUEUES ? SLUICE_MAX_QUEUES : value.queue_count;
  config.queueCpu.assign(value.queue_cpu, value.queue_cpu + n);
  return config;
}

}  // namespace sluice::dataplane
