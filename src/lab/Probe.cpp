#include "lab/Probe.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "lab/Traffic.h"

namespace sluice::lab {

namespace {

constexpr uint32_t kMagic = 0x42504c53;  // "SLPB" little-endian
constexpr uint32_t kHeaderBytes = 24;

int64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

sockaddr_storage toSockaddr(const IpNet& address, uint16_t port, socklen_t* length) {
  sockaddr_storage storage{};
  if (address.isV4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, address.addr.data() + 12, 4);
    *length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, address.addr.data(), 16);
    *length = sizeof(sockaddr_in6);
  }
  return storage;
}

/// A UDP socket created inside network namespace `ns` ("" = ours) by a thread that exits
/// afterwards; `setup` binds or connects it there.
template <typename Setup>
Result<int> socketIn(const std::string& ns, int family, Setup setup) {
  Result<int> result = makeError(EINVAL, "socket");
  std::thread worker([&] {
    if (!ns.empty()) {
      const std::string path = "/run/netns/" + ns;
      const int nsFd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (nsFd < 0) {
        result = makeError(errno, "open network namespace " + path);
        return;
      }
      const int rc = setns(nsFd, CLONE_NEWNET);
      const int err = errno;
      close(nsFd);
      if (rc != 0) {
        result = makeError(err, "setns into network namespace " + ns);
        return;
      }
    }
    const int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      result = makeError(errno, "UDP socket in namespace " + ns);
      return;
    }
    if (auto ok = setup(fd); !ok) {
      close(fd);
      result = std::unexpected(ok.error());
      return;
    }
    result = fd;
  });
  worker.join();
  return result;
}

double percentileMs(std::vector<int64_t>& latenciesNs, double fraction) {
  if (latenciesNs.empty()) {
    return 0;
  }
  const size_t index =
      std::min(latenciesNs.size() - 1, static_cast<size_t>(fraction * latenciesNs.size()));
  std::nth_element(latenciesNs.begin(), latenciesNs.begin() + index, latenciesNs.end());
  return latenciesNs[index] / 1e6;
}

}  // namespace

nlohmann::json ProbeReport::toJson() const {
  return {{"sent", sent},
          {"received", received},
          {"lost", lost},
          {"reordered", reordered},
          {"duplicates", duplicates},
          {"worst_latency_ms", worstLatencyMs},
          {"p99_latency_ms", p99LatencyMs},
          {"p50_latency_ms", p50LatencyMs},
          {"longest_gap_ms", longestGapMs},
          {"longest_loss_run", longestLossRun},
          {"seconds", seconds},
          {"pps", pps},
          {"sender_stalls", senderStalls},
          {"not_sent", notSent},
          {"longest_sender_stall_ms", longestSenderStallMs}};
}

uint64_t stalledPackets(int64_t lateNs, int64_t intervalNs, int64_t stallNs) {
  if (lateNs <= stallNs || intervalNs <= 0) {
    return 0;
  }
  return static_cast<uint64_t>(lateNs / intervalNs);
}

std::string renderProbeReport(const ProbeReport& r, const std::string& title) {
  std::string out = title + "\n";
  out += fmt::format("  sent              {}\n", r.sent);
  out += fmt::format("  received          {}\n", r.received);
  out += fmt::format("  lost              {}{}\n", r.lost,
                     r.lost > 0 ? fmt::format(" (longest run {})", r.longestLossRun) : "");
  out += fmt::format("  reordered         {}\n", r.reordered);
  out += fmt::format("  duplicates        {}\n", r.duplicates);
  out += fmt::format("  latency p50       {:.3f} ms\n", r.p50LatencyMs);
  out += fmt::format("  latency p99       {:.3f} ms\n", r.p99LatencyMs);
  out += fmt::format("  latency worst     {:.3f} ms\n", r.worstLatencyMs);
  out += fmt::format("  longest gap       {:.3f} ms\n", r.longestGapMs);
  out += fmt::format("  duration          {:.1f} s at {} packets/s\n", r.seconds, r.pps);
  if (r.senderStalls > 0) {
    out += fmt::format("  sender stalls     {} (longest {:.0f} ms; {} packets not sent)\n",
                       r.senderStalls, r.longestSenderStallMs, r.notSent);
  }
  return out;
}

Probe::Probe(const ProbeOptions& options, int sendFd, int recvFd, uint32_t runId)
    : options_(options), sendFd_(sendFd), recvFd_(recvFd), runId_(runId) {}

Result<std::unique_ptr<Probe>> Probe::start(const ProbeOptions& options) {
  if (options.pps == 0 || options.payloadBytes < kHeaderBytes || options.payloadBytes > 1400) {
    return makeError(EINVAL, "probe options",
                     fmt::format("pps {} (must be > 0), payload {} bytes (24..1400)", options.pps,
                                 options.payloadBytes));
  }
  const int family = options.target.isV4 ? AF_INET : AF_INET6;
  uint16_t port = 0;
  auto recvFd = socketIn(options.receiverNs, family, [&](int fd) -> Result<void> {
    const int buffer = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    socklen_t length = 0;
    const sockaddr_storage addr = toSockaddr(options.target, 0, &length);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), length) != 0) {
      return makeError(errno, fmt::format("bind the probe receiver to {} in namespace {}",
                                          options.target.toString(), options.receiverNs));
    }
    sockaddr_storage bound{};
    socklen_t boundLength = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &boundLength);
    port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                   : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    return {};
  });
  if (!recvFd) {
    return std::unexpected(recvFd.error());
  }
  auto sendFd = socketIn(options.senderNs, family, [&](int fd) -> Result<void> {
    socklen_t length = 0;
    const sockaddr_storage addr = toSockaddr(options.target, port, &length);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), length) != 0) {
      return makeError(errno, fmt::format("connect the probe sender to {} from namespace {}",
                                          options.target.toString(), options.senderNs));
    }
    return {};
  });
  if (!sendFd) {
    close(*recvFd);
    return std::unexpected(sendFd.error());
  }
  std::random_device random;
  std::unique_ptr<Probe> probe(new Probe(options, *sendFd, *recvFd, random()));
  const uint64_t expected =
      options.duration.count() > 0 ? options.pps * (options.duration.count() / 1000 + 1) : 0;
  probe->sendNs_.reserve(std::max<uint64_t>(expected, options.pps * 60ULL));
  probe->arrivals_.reserve(probe->sendNs_.capacity());
  probe->receiver_ = std::thread([p = probe.get()] { p->receiveLoop(); });
  probe->sender_ = std::thread([p = probe.get()] { p->sendLoop(); });
  return probe;
}

Probe::~Probe() {
  stopSending_ = true;
  stopReceiving_ = true;
  if (sender_.joinable()) {
    sender_.join();
  }
  if (receiver_.joinable()) {
    receiver_.join();
  }
  close(sendFd_);
  close(recvFd_);
}

void Probe::sendLoop() {
  std::vector<uint8_t> packet(options_.payloadBytes, 0);
  std::memcpy(packet.data(), &kMagic, 4);
  std::memcpy(packet.data() + 4, &runId_, 4);
  const int64_t intervalNs = 1'000'000'000LL / options_.pps;
  const int64_t stallNs = std::chrono::nanoseconds(options_.stallSkip).count();
  const int64_t start = monotonicNs();
  const uint64_t slots = options_.duration.count() > 0
                             ? options_.pps * static_cast<uint64_t>(options_.duration.count()) / 1000
                             : UINT64_MAX;
  uint64_t seq = 0;
  for (uint64_t slot = 0; slot < slots && !stopSending_.load(std::memory_order_relaxed);
       ++slot, ++seq) {
    // Paced against the schedule, not the previous send: a late wake-up sends the packets it
    // owes at once instead of drifting below the rate, unless it is a stall (stallSkip).
    const int64_t due = start + static_cast<int64_t>(slot) * intervalNs;
    if (monotonicNs() < due) {
      timespec ts{static_cast<time_t>(due / 1'000'000'000), static_cast<long>(due % 1'000'000'000)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    }
    const int64_t now = monotonicNs();
    if (const uint64_t skip = stalledPackets(now - due, intervalNs, stallNs); skip > 0) {
      const uint64_t skipped = std::min(skip, slots - slot - 1);
      stalls_.push_back(Stall{seq, skipped, now - due});
      slot += skipped;
    }
    std::memcpy(packet.data() + 8, &seq, 8);
    std::memcpy(packet.data() + 16, &now, 8);
    sendNs_.push_back(now);
    // A send error (ENOBUFS, an unreachable neighbour during a change) is a lost packet: the
    // receiver never sees the sequence number.
    (void)send(sendFd_, packet.data(), packet.size(), MSG_DONTWAIT);
    nextSeq_.store(seq + 1, std::memory_order_relaxed);
  }
}

void Probe::receiveLoop() {
  uint8_t packet[2048];
  pollfd pfd{recvFd_, POLLIN, 0};
  while (!stopReceiving_.load(std::memory_order_relaxed)) {
    if (poll(&pfd, 1, 50) <= 0) {
      continue;
    }
    while (true) {
      const ssize_t n = recv(recvFd_, packet, sizeof packet, MSG_DONTWAIT);
      if (n < 0) {
        break;
      }
      const int64_t now = monotonicNs();
      uint32_t magic = 0;
      uint32_t runId = 0;
      if (n < static_cast<ssize_t>(kHeaderBytes)) {
        continue;
      }
      std::memcpy(&magic, packet, 4);
      std::memcpy(&runId, packet + 4, 4);
      if (magic != kMagic || runId != runId_) {
        continue;
      }
      Arrival a{};
      std::memcpy(&a.seq, packet + 8, 8);
      std::memcpy(&a.sentNs, packet + 16, 8);
      a.recvNs = now;
      arrivals_.push_back(a);
    }
  }
}

void Probe::waitSent() {
  if (options_.duration.count() > 0 && sender_.joinable()) {
    sender_.join();
  }
}

ProbeReport Probe::stop() {
  if (stopped_) {
    return total_;
  }
  stopSending_ = true;
  if (sender_.joinable()) {
    sender_.join();
  }
  std::this_thread::sleep_for(options_.drain);
  stopReceiving_ = true;
  if (receiver_.joinable()) {
    receiver_.join();
  }
  stopped_ = true;
  total_ = report(0, sendNs_.size());
  return total_;
}

ProbeReport Probe::report(uint64_t fromSeq, uint64_t toSeq) const {
  ProbeReport r;
  r.pps = options_.pps;
  toSeq = std::min<uint64_t>(toSeq, sendNs_.size());
  if (fromSeq >= toSeq) {
    return r;
  }
  r.sent = toSeq - fromSeq;
  r.seconds = (sendNs_[toSeq - 1] - sendNs_[fromSeq]) / 1e9;
  std::vector<bool> seen(r.sent, false);
  std::vector<int64_t> latencies;
  latencies.reserve(r.sent);
  uint64_t highest = 0;
  bool any = false;
  int64_t lastRecv = 0;
  for (const Arrival& a : arrivals_) {
    if (a.seq < fromSeq || a.seq >= toSeq) {
      continue;
    }
    const uint64_t i = a.seq - fromSeq;
    if (seen[i]) {
      ++r.duplicates;
      continue;
    }
    seen[i] = true;
    ++r.received;
    if (any && a.seq < highest) {
      ++r.reordered;
    }
    if (any) {
      r.longestGapMs = std::max(r.longestGapMs, (a.recvNs - lastRecv) / 1e6);
    }
    highest = std::max(highest, a.seq);
    lastRecv = a.recvNs;
    any = true;
    latencies.push_back(a.recvNs - a.sentNs);
  }
  r.lost = r.sent - r.received;
  uint64_t run = 0;
  for (bool s : seen) {
    run = s ? 0 : run + 1;
    r.longestLossRun = std::max(r.longestLossRun, run);
  }
  if (!latencies.empty()) {
    r.worstLatencyMs = *std::max_element(latencies.begin(), latencies.end()) / 1e6;
    r.p99LatencyMs = percentileMs(latencies, 0.99);
    r.p50LatencyMs = percentileMs(latencies, 0.50);
  }
  // Stalls before a packet of the window; the whole run's report also takes one after its last.
  const bool toEnd = toSeq == sendNs_.size();
  for (const Stall& s : stalls_) {
    if (s.seq >= fromSeq && (s.seq < toSeq || (toEnd && s.seq == toSeq))) {
      ++r.senderStalls;
      r.notSent += s.skipped;
      r.longestSenderStallMs = std::max(r.longestSenderStallMs, s.lateNs / 1e6);
    }
  }
  return r;
}

Result<IpNet> probeTarget(const LabState& state, const std::string& circuit) {
  TrafficOptions options;
  options.circuits = {circuit};
  auto targets = resolveTargets(state, options);
  if (!targets) {
    return std::unexpected(targets.error());
  }
  return targets->front().source;
}

Result<std::unique_ptr<Probe>> startCircuitProbe(const LabState& state, const std::string& circuit,
                                                 uint32_t pps, std::chrono::milliseconds duration) {
  auto target = probeTarget(state, circuit);
  if (!target) {
    return std::unexpected(target.error());
  }
  ProbeOptions options;
  options.target = *target;
  options.pps = pps;
  options.duration = duration;
  return Probe::start(options);
}

}  // namespace sluice::lab
