#include "capture/CaptureManager.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "capture/Filter.h"

namespace fs = std::filesystem;

namespace sluice::capture {

/// One capture: its status (under the manager's mutex), its libpcap handle and writer (its
/// thread's alone once begin() returned), and its stop flag.
struct CaptureManager::Session {
  CaptureStatus status;
  pcap_t* handle = nullptr;
  pcap_dumper_t* dumper = nullptr;
  std::atomic<bool> stop{false};
  std::thread thread;
};

namespace {

std::string randomId() {
  uint8_t bytes[8] = {};
  if (getrandom(bytes, sizeof(bytes), 0) != static_cast<ssize_t>(sizeof(bytes))) {
    // getrandom cannot fail for 8 bytes once the pool is initialised; a counter keeps ids unique.
    static std::atomic<uint64_t> counter{0};
    const uint64_t n = ++counter ^ static_cast<uint64_t>(unixNowMs());
    std::memcpy(bytes, &n, sizeof(bytes));
  }
  std::string out;
  for (uint8_t b : bytes) {
    out += fmt::format("{:02x}", b);
  }
  return out;
}

/// Opens `point.interface` for `filter` with `snaplen`; the caller closes the handle.
Result<pcap_t*> openHandle(const CapturePoint& point, const std::string& filter, int snaplen,
                           uint32_t bufferBytes) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_create(point.interface.c_str(), errbuf);
  if (handle == nullptr) {
    return makeError(ENODEV, "capture on " + point.interface, errbuf);
  }
  pcap_set_snaplen(handle, snaplen);
  pcap_set_promisc(handle, 0);  // bridge ports are promiscuous already; a stick sees its VLANs
  pcap_set_immediate_mode(handle, 1);  // packets as they come: no block timeout to wait out
  pcap_set_buffer_size(handle, static_cast<int>(bufferBytes));
  pcap_set_tstamp_precision(handle, PCAP_TSTAMP_PRECISION_MICRO);
  const int activated = pcap_activate(handle);
  if (activated < 0) {
    const std::string message = pcap_geterr(handle);
    pcap_close(handle);
    const int errnum = activated == PCAP_ERROR_NO_SUCH_DEVICE ? ENODEV
                       : activated == PCAP_ERROR_PERM_DENIED  ? EPERM
                                                              : EIO;
    return makeError(errnum, "capture on " + point.interface, message);
  }
  if (point.outboundOnly && pcap_setdirection(handle, PCAP_D_OUT) != 0) {
    const std::string message = pcap_geterr(handle);
    pcap_close(handle);
    return makeError(EIO, "capture direction on " + point.interface, message);
  }
  bpf_program program{};
  if (pcap_compile(handle, &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 ||
      pcap_setfilter(handle, &program) != 0) {
    const std::string message = pcap_geterr(handle);
    pcap_freecode(&program);
    pcap_close(handle);
    return makeError(EINVAL, fmt::format("packet filter \"{}\"", filter), message);
  }
  pcap_freecode(&program);
  if (pcap_setnonblock(handle, 1, errbuf) != 0) {
    pcap_close(handle);
    return makeError(EIO, "capture on " + point.interface, errbuf);
  }
  return handle;
}

/// A new file for the capture: O_EXCL, mode 0600 whatever the umask.
Result<pcap_dumper_t*> openFile(pcap_t* handle, const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return makeError(errno, "create " + path);
  }
  ::fchmod(fd, 0600);
  FILE* file = ::fdopen(fd, "wb");
  if (file == nullptr) {
    const int saved = errno;
    ::close(fd);
    return makeError(saved, "fdopen " + path);
  }
  pcap_dumper_t* dumper = pcap_dump_fopen(handle, file);
  if (dumper == nullptr) {
    const std::string message = pcap_geterr(handle);
    std::fclose(file);
    return makeError(EIO, "pcap file " + path, message);
  }
  return dumper;
}

struct Writer {
  pcap_dumper_t* dumper;
  uint64_t packets = 0;
  uint64_t bytes = 24;  // the pcap file header
};

void writePacket(u_char* user, const pcap_pkthdr* header, const u_char* data) {
  auto* writer = reinterpret_cast<Writer*>(user);
  pcap_dump(reinterpret_cast<u_char*>(writer->dumper), header, data);
  ++writer->packets;
  writer->bytes += 16 + header->caplen;  // record header + captured bytes
}

}  // namespace

int64_t unixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* stateName(CaptureState state) {
  switch (state) {
    case CaptureState::Running:
      return "running";
    case CaptureState::Done:
      return "done";
    case CaptureState::Failed:
      return "failed";
  }
  return "failed";
}

nlohmann::json CaptureStatus::toJson() const {
  return {{"id", id},
          {"state", stateName(state)},
          {"target", target},
          {"circuit", circuitId},
          {"filter", filter},
          {"interface", interface},
          {"seconds", seconds},
          {"snaplen", snaplen},
          {"started_unix_ms", startedUnixMs},
          {"ended_unix_ms", endedUnixMs},
          {"expires_unix_ms", expiresUnixMs},
          {"packets", packets},
          {"bytes", bytes},
          {"kernel_drops", kernelDrops},
          {"interface_drops", interfaceDrops},
          {"truncated", truncated},
          {"error", error}};
}

CaptureManager::CaptureManager(Settings settings, CapturePoint point)
    : settings_(std::move(settings)), point_(std::move(point)) {}

CaptureManager::~CaptureManager() {
  stop();
}

Result<void> CaptureManager::start() {
  std::error_code ec;
  fs::create_directories(settings_.directory, ec);
  if (ec) {
    return makeError(ec.value(), "mkdir " + settings_.directory);
  }
  if (::chmod(settings_.directory.c_str(), 0700) != 0) {
    return makeError(errno, "chmod 0700 " + settings_.directory);
  }
  for (const auto& entry : fs::directory_iterator(settings_.directory, ec)) {
    if (entry.path().extension() == ".pcap") {
      fs::remove(entry.path(), ec);  // an earlier run's: nobody can ask for it any more
    }
  }
  std::lock_guard lock(mutex_);
  stopping_ = false;
  started_ = true;
  janitor_ = std::thread([this] { janitor(); });
  return {};
}

void CaptureManager::stop() {
  std::map<std::string, std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mutex_);
    if (!started_) {
      return;
    }
    started_ = false;
    stopping_ = true;
    sessions.swap(sessions_);
  }
  wake_.notify_all();
  if (janitor_.joinable()) {
    janitor_.join();
  }
  for (auto& [id, session] : sessions) {
    session->stop = true;
    if (session->thread.joinable()) {
      session->thread.join();
    }
    std::error_code ec;
    fs::remove(session->status.file, ec);
  }
}

Result<CaptureStatus> CaptureManager::begin(const CaptureRequest& request) {
  const uint32_t seconds = request.seconds == 0 ? settings_.defaultSeconds : request.seconds;
  const uint32_t snaplen = request.snaplen == 0 ? settings_.defaultSnaplen : request.snaplen;
  if (seconds < 1 || seconds > settings_.maxSeconds) {
    return makeError(EINVAL, fmt::format("seconds = {}: must be 1..{} ([capture] max_seconds)",
                                         seconds, settings_.maxSeconds));
  }
  if (snaplen < kMinSnaplen || snaplen > kMaxSnaplen) {
    return makeError(
        EINVAL, fmt::format("snaplen = {}: must be {}..{}", snaplen, kMinSnaplen, kMaxSnaplen));
  }
  auto filter = filterExpression(request.prefixes, point_.vlanTagged);
  if (!filter) {
    return std::unexpected(filter.error());
  }
  auto session = std::make_shared<Session>();
  CaptureStatus& s = session->status;
  s.id = randomId();
  s.target = request.target;
  s.circuitId = request.circuitId;
  s.filter = *filter;
  s.interface = point_.interface;
  s.seconds = seconds;
  s.snaplen = snaplen;
  s.file = settings_.directory + "/" + s.id + ".pcap";
  std::lock_guard lock(mutex_);  // held while opening: the limit check and the insert are one
  if (!started_) {
    return makeError(ESHUTDOWN, "captures are not available (the daemon is stopping)");
  }
  size_t active = 0;
  for (const auto& [id, other] : sessions_) {
    active += other->status.state == CaptureState::Running ? 1 : 0;
  }
  if (active >= settings_.maxConcurrent) {
    return makeError(EBUSY, fmt::format("{} captures are running, the most [capture] "
                                        "max_concurrent allows; try again when one ends",
                                        active));
  }
  auto handle = openHandle(point_, s.filter, static_cast<int>(snaplen), settings_.bufferBytes);
  if (!handle) {
    return std::unexpected(handle.error());
  }
  auto dumper = openFile(*handle, s.file);
  if (!dumper) {
    pcap_close(*handle);
    return std::unexpected(dumper.error());
  }
  session->handle = *handle;
  session->dumper = *dumper;
  s.startedUnixMs = unixNowMs();
  s.bytes = 24;
  sessions_[s.id] = session;
  session->thread = std::thread([this, session] { runSession(session); });
  spdlog::info("capture {}: {} on {} for {} s (filter: {})", s.id, s.target, s.interface, seconds,
               s.filter);
  return s;
}

void CaptureManager::runSession(const std::shared_ptr<Session>& session) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(session->status.seconds);
  Writer writer{session->dumper};
  pollfd fd{pcap_get_selectable_fd(session->handle), POLLIN, 0};
  std::string error;
  bool truncated = false;
  while (!session->stop && std::chrono::steady_clock::now() < deadline) {
    (void)::poll(&fd, 1, 100);
    const int got =
        pcap_dispatch(session->handle, -1, writePacket, reinterpret_cast<u_char*>(&writer));
    if (got < 0) {
      error = pcap_geterr(session->handle);  // e.g. the interface went away
      break;
    }
    if (writer.bytes >= settings_.maxFileBytes) {
      truncated = true;
      break;
    }
    pcap_stat stats{};
    const bool haveStats = pcap_stats(session->handle, &stats) == 0;
    std::lock_guard lock(mutex_);
    session->status.packets = writer.packets;
    session->status.bytes = writer.bytes;
    if (haveStats) {
      session->status.kernelDrops = stats.ps_drop;
      session->status.interfaceDrops = stats.ps_ifdrop;
    }
  }
  pcap_stat stats{};
  const bool haveStats = pcap_stats(session->handle, &stats) == 0;
  pcap_dump_flush(session->dumper);
  pcap_dump_close(session->dumper);
  pcap_close(session->handle);
  std::lock_guard lock(mutex_);
  CaptureStatus& s = session->status;
  s.packets = writer.packets;
  s.bytes = writer.bytes;
  if (haveStats) {
    s.kernelDrops = stats.ps_drop;
    s.interfaceDrops = stats.ps_ifdrop;
  }
  s.truncated = truncated;
  s.error = error;
  s.state = error.empty() ? CaptureState::Done : CaptureState::Failed;
  s.endedUnixMs = unixNowMs();
  s.expiresUnixMs = s.endedUnixMs + int64_t{settings_.retentionSeconds} * 1000;
  spdlog::info("capture {}: {} after {} packets ({} bytes), {} dropped by the kernel{}", s.id,
               stateName(s.state), s.packets, s.bytes, s.kernelDrops,
               error.empty() ? "" : ": " + error);
}

std::optional<CaptureStatus> CaptureManager::status(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return std::nullopt;
  }
  return it->second->status;
}

std::vector<CaptureStatus> CaptureManager::list() const {
  std::vector<CaptureStatus> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, session] : sessions_) {
      out.push_back(session->status);
    }
  }
  std::sort(out.begin(), out.end(), [](const CaptureStatus& a, const CaptureStatus& b) {
    return a.startedUnixMs > b.startedUnixMs;
  });
  return out;
}

size_t CaptureManager::running() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& [id, session] : sessions_) {
    n += session->status.state == CaptureState::Running ? 1 : 0;
  }
  return n;
}

void CaptureManager::expire(int64_t nowUnixMs) {
  std::vector<std::shared_ptr<Session>> gone;
  {
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      const CaptureStatus& s = it->second->status;
      if (s.state != CaptureState::Running && s.expiresUnixMs <= nowUnixMs) {
        gone.push_back(it->second);
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& session : gone) {
    if (session->thread.joinable()) {
      session->thread.join();  // finished: its state is set last, under the lock
    }
    std::error_code ec;
    fs::remove(session->status.file, ec);
    spdlog::info("capture {}: file removed (retention ended)", session->status.id);
  }
}

void CaptureManager::janitor() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) {
      break;
    }
    lock.unlock();
    expire(unixNowMs());
    lock.lock();
  }
}

}  // namespace sluice::capture
