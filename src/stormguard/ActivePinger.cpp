#include "stormguard/ActivePinger.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

namespace sluice::stormguard {
namespace {

double steadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ActivePinger::~ActivePinger() {
  stop();
}

void ActivePinger::configure(const Settings& settings) {
  const bool want = settings.enabled && settings.strategy == "delay_probe_active";
  // LibreQoS's floors: one probe a second at most, a timeout of at least 100 ms.
  const double interval = std::max(1.0, settings.activePingIntervalSeconds);
  const double timeout = std::max(0.1, settings.activePingTimeoutSeconds);
  {
    std::lock_guard lock(mutex_);
    if (want == running_ && (!want || (target_ == settings.activePingTarget &&
                                       intervalSeconds_ == interval && timeoutSeconds_ == timeout))) {
      return;
    }
  }
  stop();
  if (!want) {
    return;
  }
  std::lock_guard lock(mutex_);
  target_ = settings.activePingTarget;
  intervalSeconds_ = interval;
  timeoutSeconds_ = timeout;
  kind_.reset();
  sent_ = answered_ = timeouts_ = 0;
  lastMs_.reset();
  error_.clear();
  stopping_ = false;
  running_ = true;
  thread_ = std::thread([this, t = target_, interval, timeout] { loop(t, interval, timeout); });
}

void ActivePinger::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  std::lock_guard lock(mutex_);
  running_ = false;
}

void ActivePinger::loop(std::string target, double intervalSeconds, double timeoutSeconds) {
  auto probe = IcmpProbe::open(target);
  {
    std::lock_guard lock(mutex_);
    if (!probe) {
      error_ = probe.error().message();
      spdlog::error("stormguard: {}; delay_probe_active runs on the passive RTT alone", error_);
      return;
    }
    kind_ = (*probe)->kind();
  }
  spdlog::info("stormguard: active probe toward {} every {} s ({} ICMP socket)", target,
               intervalSeconds, (*probe)->kind() == IcmpProbe::Kind::Datagram ? "datagram" : "raw");
  auto next = std::chrono::steady_clock::now();
  while (true) {
    auto rtt = (*probe)->ping(timeoutSeconds);
    {
      std::lock_guard lock(mutex_);
      ++sent_;
      if (!rtt) {
        if (error_ != rtt.error().message()) {
          spdlog::warn("stormguard: {}", rtt.error().message());
        }
        error_ = rtt.error().message();
      } else if (!*rtt) {
        ++timeouts_;
      } else {
        ++answered_;
        lastMs_ = **rtt;
        lastAt_ = steadySeconds();
        error_.clear();
      }
    }
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(intervalSeconds));
    std::unique_lock lock(mutex_);
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) {
      return;
    }
  }
}

std::optional<double> ActivePinger::latestMs() const {
  std::lock_guard lock(mutex_);
  if (!running_ || !lastMs_ ||
      steadySeconds() - lastAt_ > activeSampleValiditySeconds(intervalSeconds_)) {
    return std::nullopt;
  }
  return lastMs_;
}

nlohmann::json ActivePinger::status() const {
  std::lock_guard lock(mutex_);
  if (!running_) {
    return nullptr;
  }
  nlohmann::json j{{"target", target_},
                   {"interval_s", intervalSeconds_},
                   {"sent", sent_},
                   {"answered", answered_},
                   {"timeouts", timeouts_},
                   {"error", error_}};
  j["socket"] = kind_ ? nlohmann::json(*kind_ == IcmpProbe::Kind::Datagram ? "datagram" : "raw")
                      : nlohmann::json(nullptr);
  j["last_rtt_ms"] = lastMs_ ? nlohmann::json(*lastMs_) : nlohmann::json(nullptr);
  j["age_s"] = lastMs_ ? nlohmann::json(steadySeconds() - lastAt_) : nlohmann::json(nullptr);
  return j;
}

void blendActive(std::map<std::string, NodeSignals>& signals, std::optional<double> activeMs,
                 double weight) {
  if (!activeMs) {
    return;
  }
  for (auto& [name, s] : signals) {
    s.rttMs = blendRtt(s.rttMs, activeMs, weight);
  }
}

}  // namespace sluice::stormguard
