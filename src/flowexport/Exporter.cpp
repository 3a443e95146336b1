#include "flowexport/Exporter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>

#include <fmt/format.h>

namespace sluice::flowexport {

namespace {

Result<int> connectUdp(const CollectorAddress& address) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(address.port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(address.port);
    len = sizeof(sockaddr_in6);
  } else {
    return makeError(EINVAL, "flow collector " + address.label(), "not an IP address");
  }
  const int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return makeError(errno, "socket for flow collector " + address.label());
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int err = errno;
    close(fd);
    return makeError(err, "connect to flow collector " + address.label());
  }
  return fd;
}

uint64_t secondsToNs(uint32_t s) {
  return uint64_t{s} * 1'000'000'000ull;
}

}  // namespace

ExportClock ExportClock::now() {
  timespec mono{};
  timespec real{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &real);
  return ExportClock{uint64_t(mono.tv_sec) * 1'000'000'000ull + uint64_t(mono.tv_nsec),
                     uint64_t(real.tv_sec) * 1'000'000'000ull + uint64_t(real.tv_nsec)};
}

FlowExporter::FlowExporter(const FlowSettings& settings, uint32_t linkHeaderBytes)
    : settings_(settings),
      tracker_(TrackerOptions{secondsToNs(settings.flowTimeoutSeconds),
                              secondsToNs(settings.activeTimeoutSeconds), 1'000'000'000ull,
                              linkHeaderBytes}) {}

Result<std::unique_ptr<FlowExporter>> FlowExporter::create(const FlowSettings& settings,
                                                           uint32_t linkHeaderBytes) {
  if (settings.collectors.empty()) {
    return makeError(EINVAL, "flow export", "no collector configured");
  }
  std::unique_ptr<FlowExporter> e(new FlowExporter(settings, linkHeaderBytes));
  for (const CollectorAddress& address : settings.collectors) {
    auto fd = connectUdp(address);
    if (!fd) {
      return std::unexpected(fd.error());  // the destructor closes the sockets opened so far
    }
    auto t = std::make_unique<Target>();
    t->address = address;
    t->fd = *fd;
    if (address.format == WireFormat::kNetflowV5) {
      t->v5 = std::make_unique<NetflowV5Encoder>();
    } else {
      t->templated =
          std::make_unique<TemplateEncoder>(address.format, settings.observationDomainId);
    }
    e->targets_.push_back(std::move(t));
  }
  e->sender_ = std::thread([raw = e.get()] { raw->sendLoop(); });
  return e;
}

Result<std::unique_ptr<FlowExporter>> FlowExporter::fromConfig(const config::Config& config,
                                                               const std::string& configPath) {
  auto settings = readFlowSettings(config, configPath);
  if (!settings) {
    return std::unexpected(settings.error());
  }
  if (!settings->enabled) {
    return std::unique_ptr<FlowExporter>();
  }
  return create(*settings, config.onAStick() ? 18 : 14);
}

FlowExporter::~FlowExporter() {
  stop();
  for (auto& t : targets_) {
    if (t->fd >= 0) {
      close(t->fd);
    }
  }
}

void FlowExporter::encodeFor(Target& t, size_t index, std::span<const ExportRecord> records,
                             const ExportClock& clock, bool flush) {
  if (t.v5) {
    std::vector<ExportRecord> v4;
    v4.reserve(records.size());
    for (const ExportRecord& r : records) {
      if (r.ipv6) {
        t.recordsDropped.fetch_add(1, std::memory_order_relaxed);  // v5 carries IPv4 only
      } else {
        v4.push_back(r);
      }
    }
    for (auto& packet : t.v5->encode(v4, clock)) {
      const auto count = static_cast<uint32_t>((packet.size() - kV5HeaderBytes) / kV5RecordBytes);
      enqueue(index, std::move(packet), count);
    }
    return;
  }
  // The refresh timer only runs on ticks; the shutdown flush sends templates only to a collector
  // that never had them.
  const bool templatesDue =
      t.templatesSentNs == 0 || (!flush && clock.monotonicNs - t.templatesSentNs >=
                                               secondsToNs(settings_.templateRefreshSeconds));
  if (records.empty() && !templatesDue) {
    return;
  }
  if (flush && records.empty()) {
    return;
  }
  for (EncodedPacket& p : t.templated->encode(records, clock, templatesDue)) {
    enqueue(index, std::move(p.bytes), p.dataRecords);
  }
  if (templatesDue) {
    t.templatesSentNs = clock.monotonicNs;
  }
}

void FlowExporter::tick(std::span<const sluice_flow_key> keys, std::span<const sluice_flow> flows,
                        const ExportClock& clock) {
  std::vector<ExportRecord> records;
  tracker_.observe(keys, flows, clock.monotonicNs, records);
  tracked_.store(tracker_.tracked(), std::memory_order_relaxed);
  for (size_t i = 0; i < targets_.size(); ++i) {
    encodeFor(*targets_[i], i, records, clock, false);
  }
}

void FlowExporter::enqueue(size_t target, std::vector<uint8_t> bytes, uint32_t records) {
  {
    std::lock_guard lock(queueMutex_);
    if (queue_.size() < kMaxQueuedPackets && !stopping_) {
      queue_.push_back(Outgoing{target, std::move(bytes), records});
      queueWake_.notify_one();
      return;
    }
  }
  targets_[target]->recordsDropped.fetch_add(records, std::memory_order_relaxed);
}

void FlowExporter::sendLoop() {
  while (true) {
    Outgoing out;
    {
      std::unique_lock lock(queueMutex_);
      queueWake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping and drained
      }
      out = std::move(queue_.front());
      queue_.pop_front();
    }
    Target& t = *targets_[out.target];
    const ssize_t n = send(t.fd, out.bytes.data(), out.bytes.size(), 0);
    if (n == static_cast<ssize_t>(out.bytes.size())) {
      t.recordsSent.fetch_add(out.records, std::memory_order_relaxed);
      t.packetsSent.fetch_add(1, std::memory_order_relaxed);
      t.bytesSent.fetch_add(out.bytes.size(), std::memory_order_relaxed);
    } else {
      t.recordsDropped.fetch_add(out.records, std::memory_order_relaxed);
    }
  }
}

void FlowExporter::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  std::vector<ExportRecord> records;
  tracker_.flushAll(records);
  const ExportClock clock = ExportClock::now();
  for (size_t i = 0; i < targets_.size(); ++i) {
    encodeFor(*targets_[i], i, records, clock, true);
  }
  // Give the sender up to a second to drain, then stop it (what is left counts as dropped).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(queueMutex_);
      if (queue_.empty()) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  {
    std::lock_guard lock(queueMutex_);
    stopping_ = true;
    for (const Outgoing& out : queue_) {
      targets_[out.target]->recordsDropped.fetch_add(out.records, std::memory_order_relaxed);
    }
    queue_.clear();
  }
  queueWake_.notify_all();
  if (sender_.joinable()) {
    sender_.join();
  }
}

std::vector<CollectorCounters> FlowExporter::counters() const {
  std::vector<CollectorCounters> out;
  for (const auto& t : targets_) {
    out.push_back(CollectorCounters{t->address.label(), static_cast<int>(t->address.format),
                                    t->recordsSent.load(), t->recordsDropped.load(),
                                    t->packetsSent.load(), t->bytesSent.load()});
  }
  return out;
}

std::string FlowExporter::prometheus() const {
  const std::vector<CollectorCounters> all = counters();
  std::string out;
  auto family = [&out](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  family("sluice_flow_export_records_total", "counter",
         "Flow records exported (result=sent) or lost (result=dropped: queue full, send error, "
         "IPv6 for a v5 collector)");
  for (const CollectorCounters& c : all) {
    out += fmt::format(
        "sluice_flow_export_records_total{{collector=\"{}\",version=\"{}\",result=\"sent\"}} "
        "{}\n",
        c.collector, c.version, c.recordsSent);
    out += fmt::format(
        "sluice_flow_export_records_total{{collector=\"{}\",version=\"{}\",result=\"dropped\"}} "
        "{}\n",
        c.collector, c.version, c.recordsDropped);
  }
  family("sluice_flow_export_packets_total", "counter", "Export packets sent");
  for (const CollectorCounters& c : all) {
    out += fmt::format("sluice_flow_export_packets_total{{collector=\"{}\",version=\"{}\"}} {}\n",
                       c.collector, c.version, c.packetsSent);
  }
  family("sluice_flow_export_bytes_total", "counter", "UDP payload bytes of the packets sent");
  for (const CollectorCounters& c : all) {
    out += fmt::format("sluice_flow_export_bytes_total{{collector=\"{}\",version=\"{}\"}} {}\n",
                       c.collector, c.version, c.bytesSent);
  }
  family("sluice_flow_export_flows", "gauge", "Flows the exporter keeps export state for");
  out += fmt::format("sluice_flow_export_flows {}\n", tracked_.load(std::memory_order_relaxed));
  return out;
}

}  // namespace sluice::flowexport
