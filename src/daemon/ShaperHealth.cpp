// The Shaper (daemon/Shaper.h): the facts HA readiness is decided from, the fail-mode actions and
// the shaper's part of its HA identity (docs/ha.md).

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "abi/sluice_abi.h"
#include "bakery/Bakery.h"
#include "daemon/Shaper.h"
#include "daemon/ShaperSupport.h"
#include "dataplane/Attach.h"
#include "dataplane/Dataplane.h"
#include "ha/Fingerprint.h"
#include "netlink/Link.h"

namespace sluice::daemon {

namespace fs = std::filesystem;
using namespace detail;

namespace {

std::optional<ha::SystemTime> modified(const std::string& path) {
  struct stat info {};
  if (path.empty() || stat(path.c_str(), &info) != 0) {
    return std::nullopt;
  }
  return ha::SystemTime(std::chrono::seconds(info.st_mtim.tv_sec) +
                        std::chrono::nanoseconds(info.st_mtim.tv_nsec));
}

/// /sys/class/net/<ifname>/operstate is "up" (an interface that is gone reads as down).
bool operstateUp(const std::string& ifname) {
  std::ifstream in("/sys/class/net/" + ifname + "/operstate");
  std::string state;
  return static_cast<bool>(in >> state) && state == "up";
}

/// /sys/class/net/<ifname>/speed in Mbit/s; null when the driver reports none (-1) or no file.
nlohmann::json speedMbps(const std::string& ifname) {
  std::ifstream in("/sys/class/net/" + ifname + "/speed");
  long speed = -1;
  if (!(in >> speed) || speed <= 0) {
    return nullptr;
  }
  return speed;
}

}  // namespace

ha::HealthSnapshot Shaper::healthSnapshot() const {
  std::lock_guard lock(mutex_);
  ha::HealthSnapshot s;
  s.phase = state_ == "ready"      ? ha::Phase::Running
            : state_ == "starting" ? ha::Phase::Starting
                                   : ha::Phase::Stopping;
  s.shaping = queueMode_ == "shape";
  // The attachments in start() order: per interface XDP, tc egress and (XDP bridge) tc ingress.
  const size_t tcPerInterface =
      xdp_.empty() ? 1 : std::max<size_t>(1, tcFilters_.size() / xdp_.size());
  for (size_t i = 0; i < txQueues_.size() && i < xdp_.size(); ++i) {
    ha::InterfaceHealth iface{txQueues_[i].first, xdp_[i].attached(), true,
                              operstateUp(txQueues_[i].first)};
    for (size_t t = i * tcPerInterface; t < (i + 1) * tcPerInterface && t < tcFilters_.size();
         ++t) {
      iface.tcAttached = iface.tcAttached && tcFilters_[t].attached();
    }
    s.interfaces.push_back(std::move(iface));
  }
  if (dataplane_) {
    std::error_code ec;
    const std::string& pins = dataplane_->options().pinDir;
    s.pinnedMapsPresent = !pins.empty() && fs::is_directory(pins, ec) && !fs::is_empty(pins, ec);
    if (auto runtime = dataplane_->runtimeConfig()) {
      s.bypass = (runtime->flags & SLUICE_CFG_BYPASS) != 0;
    }
  }
  if (lastDrift_) {
    s.driftDifferences = lastDrift_->differences.size();
    s.driftError = lastDrift_->error;
  } else if (queueMode_ != "shape") {
    s.driftDifferences = 0;  // observe: no tree to compare (the shaping rule says why)
  }
  if (lastReload_ && lastReload_->outcome == "failed") {
    s.lastApplyOk = false;
    s.lastApplyError = lastReload_->message;
  }
  if (active_) {
    for (const std::string& path : {active_->resolvedNetwork, active_->resolvedDevices}) {
      if (auto t = modified(path)) {
        s.inputsModified = std::max(s.inputsModified.value_or(*t), *t);
      }
    }
  }
  return s;
}

Result<void> Shaper::setBypass(bool on) {
  std::lock_guard lock(mutex_);
  if (!dataplane_) {
    return makeError(ENODEV, "no data plane: sluiced has not started");
  }
  auto runtime = dataplane_->runtimeConfig();
  if (!runtime) {
    return std::unexpected(runtime.error());
  }
  runtime->flags =
      on ? (runtime->flags | SLUICE_CFG_BYPASS) : (runtime->flags & ~SLUICE_CFG_BYPASS);
  return dataplane_->setRuntimeConfig(*runtime);
}

Result<void> Shaper::setInterfacesDown() {
  std::vector<std::string> ifaces;
  {
    std::lock_guard lock(mutex_);
    if (active_) {
      ifaces = shapingInterfaces(active_->config);
    }
  }
  auto socket = netlink::Socket::open();
  if (!socket) {
    return std::unexpected(socket.error());
  }
  for (const std::string& ifname : ifaces) {
    if (auto down = netlink::setLinkDown(*socket, ifname); !down) {
      return down;
    }
  }
  return {};
}

nlohmann::json Shaper::haIdentity() const {
  nlohmann::json out;
  std::vector<std::string> files;
  {
    std::lock_guard lock(mutex_);
    out["version"] = "0.1.0";
    out["queue_mode"] = queueMode_;
    out["leaf"] = leafActive_;
    out["queues"] = plan_ ? nlohmann::json(plan_->queueCount) : nlohmann::json();
    out["plan_sha256"] = plan_ ? nlohmann::json(ha::planFingerprint(*plan_)) : nlohmann::json();
    auto ifaces = nlohmann::json::array();
    if (active_) {
      const config::Config& config = active_->config;
      out["node_name"] = config.nodeName;
      for (size_t i = 0; i < txQueues_.size(); ++i) {
        const std::string role =
            config.onAStick() ? "single" : (i == 0 ? "to_internet" : "to_network");
        ifaces.push_back({{"role", role},
                          {"name", txQueues_[i].first},
                          {"speed_mbps", speedMbps(txQueues_[i].first)},
                          {"tx_queues", txQueues_[i].second}});
      }
      files = {active_->resolvedNetwork, active_->resolvedDevices, active_->resolvedOverrides};
    }
    out["interfaces"] = ifaces;
  }
  const auto hash = [](const std::string& path) {
    if (path.empty()) {
      return std::string();
    }
    auto sum = ha::sha256File(path);
    return sum ? *sum : std::string();
  };
  if (!files.empty()) {
    out["inputs"] = {{"network_sha256", hash(files[0])},
                     {"devices_sha256", hash(files[1])},
                     {"overrides_sha256", hash(files[2])}};
  }
  return out;
}

}  // namespace sluice::daemon
