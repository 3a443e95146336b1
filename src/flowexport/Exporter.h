#pragma once
// The flow exporter sluiced runs: fed one reading of the data plane's flow table per telemetry
// tick, it keeps the flows' export state (FlowTracker), encodes NetFlow v5 / v9 / IPFIX packets
// for every configured collector and hands them to its own sender thread, which sends them over
// one connected UDP socket per collector. Counts records sent and dropped for /metrics.
//
// Thread rules: tick(), stop() from one thread (the telemetry tick thread); prometheus() and
// counters() from any thread. Knows nothing of BPF maps (the caller reads them) or HTTP.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "abi/sluice_abi.h"
#include "common/Error.h"
#include "flowexport/FlowTracker.h"
#include "flowexport/NetflowV5.h"
#include "flowexport/Settings.h"
#include "flowexport/TemplateEncoder.h"

namespace sluice::flowexport {

struct CollectorCounters {
  std::string collector;  ///< CollectorAddress::label()
  int version = 0;        ///< 5, 9 or 10
  uint64_t recordsSent = 0;
  /// Records not sent: the send queue was full, send() failed (e.g. ECONNREFUSED after the
  /// collector's port answered ICMP unreachable), or an IPv6 record for a v5 collector.
  uint64_t recordsDropped = 0;
  uint64_t packetsSent = 0;
  uint64_t bytesSent = 0;  ///< UDP payload bytes
};

class FlowExporter {
 public:
  /// Packets waiting for the sender at most; beyond, new packets are dropped (and counted).
  static constexpr size_t kMaxQueuedPackets = 4096;

  /// Opens and connects one UDP socket per collector of `settings` and starts the sender.
  /// `linkHeaderBytes`: see TrackerOptions. Errors: socket()/connect() errno naming the
  /// collector; EINVAL when `settings` has no collector.
  static Result<std::unique_ptr<FlowExporter>> create(const FlowSettings& settings,
                                                      uint32_t linkHeaderBytes);
  /// What sluiced starts: the exporter [flows] of `config` (read from `configPath`) asks for,
  /// nullptr when netflow_enabled is false. The link header is 14 bytes, 18 on a stick (every
  /// frame carries an 802.1Q tag). Errors: readFlowSettings's, then create()'s.
  static Result<std::unique_ptr<FlowExporter>> fromConfig(const config::Config& config,
                                                          const std::string& configPath);
  ~FlowExporter();
  FlowExporter(const FlowExporter&) = delete;
  FlowExporter& operator=(const FlowExporter&) = delete;

  /// One complete reading of the flow table (`keys`, `flows` parallel), taken just before
  /// `clock`. Queues the packets of the records due, and the templates when their refresh
  /// time has come (every template_refresh_seconds, and with the first packet). Never blocks
  /// on the network.
  void tick(std::span<const sluice_flow_key> keys, std::span<const sluice_flow> flows,
            const ExportClock& clock);

  /// Queues every flow's unreported counts, lets the sender finish (up to 1 s) and stops it.
  /// Idempotent; the destructor calls it.
  void stop();

  std::vector<CollectorCounters> counters() const;
  /// Prometheus text (format 0.0.4) of the counters: sluice_flow_export_records_total
  /// {collector, version, result="sent"|"dropped"}, sluice_flow_export_packets_total and
  /// sluice_flow_export_bytes_total {collector, version}, sluice_flow_export_flows gauge.
  std::string prometheus() const;

 private:
  struct Target {
    CollectorAddress address;
    int fd = -1;
    std::unique_ptr<NetflowV5Encoder> v5;
    std::unique_ptr<TemplateEncoder> templated;
    uint64_t templatesSentNs = 0;  ///< CLOCK_MONOTONIC of the last template packet, 0 = never
    std::atomic<uint64_t> recordsSent{0};
    std::atomic<uint64_t> recordsDropped{0};
    std::atomic<uint64_t> packetsSent{0};
    std::atomic<uint64_t> bytesSent{0};
  };
  struct Outgoing {
    size_t target = 0;
    std::vector<uint8_t> bytes;
    uint32_t records = 0;
  };

  FlowExporter(const FlowSettings& settings, uint32_t linkHeaderBytes);
  void encodeFor(Target& target, size_t index, std::span<const ExportRecord> records,
                 const ExportClock& clock, bool flush);
  void enqueue(size_t target, std::vector<uint8_t> bytes, uint32_t records);
  void sendLoop();

  FlowSettings settings_;
  FlowTracker tracker_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::atomic<size_t> tracked_{0};

  std::mutex queueMutex_;
  std::condition_variable queueWake_;
  std::deque<Outgoing> queue_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread sender_;
};

}  // namespace sluice::flowexport
