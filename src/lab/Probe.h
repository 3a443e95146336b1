#pragma once
// `sluice lab probe`: a paced UDP stream with sequence numbers and send timestamps from the
// Internet side (netns isp) to one of a circuit's addresses (netns subs), i.e. through the
// circuit's download class on the shaper. It measures what a change of the tree costs the
// subscriber: lost, reordered and duplicated packets, worst and p99 one-way latency, and the
// longest silence. Tests run it in the background (Probe::start ... stop) while they change the
// running shaper, and cut the result into windows by sequence number (Probe::nextSeq, report).
//
// Packet (payload of one UDP datagram, host byte order: sender and receiver share one host and
// one CLOCK_MONOTONIC):
//
//    0               4               8                              16                     24
//   ┌───────────────┬───────────────┬──────────────────────────────┬──────────────────────┐
//   │ magic "SLPB"  │ run id (u32)  │ sequence number (u64, from 0)│ send time (u64, ns)  │ pad…
//   └───────────────┴───────────────┴──────────────────────────────┴──────────────────────┘
//
// Both sockets are created by short-lived threads that setns(2) into the namespace and exit; a
// socket stays in the namespace it was created in, so the sender and receiver threads themselves
// never change namespace.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "common/IpNet.h"
#include "lab/Lab.h"

namespace sluice::lab {

struct ProbeOptions {
  IpNet target;                         ///< host address held in `receiverNs` (a circuit's)
  std::string senderNs = kIspNs;        ///< "" = the caller's namespace
  std::string receiverNs = kSubsNs;     ///< "" = the caller's namespace
  uint32_t pps = 2000;                  ///< packets per second (paced, not bursted)
  std::chrono::milliseconds duration{0};  ///< 0 = until stop()
  uint32_t payloadBytes = 64;           ///< UDP payload, >= 24 (the header above)
  std::chrono::milliseconds drain{500};  ///< how long stop() waits for late packets
  /// A sender that wakes this long after a packet was due (its own thread went unscheduled: a
  /// loaded machine, a stalled emulated guest) skips the packets it owes instead of sending them
  /// at once: the path's queues would cut such a burst short (a veth with XDP holds 256 frames,
  /// a socket's send buffer about 280 small ones) and the probe would blame the shaper. The
  /// report counts the stalls and the packets not sent; `sent` is only what went out.
  std::chrono::microseconds stallSkip{100'000};
};

/// Packets a sender waking `lateNs` after a packet's due time skips (0 up to `stallNs`, else the
/// older of the owed packets: all but the one due last); `intervalNs` = 1 s / pps.
uint64_t stalledPackets(int64_t lateNs, int64_t intervalNs, int64_t stallNs);

/// The result of a probe run (or of one window of it, Probe::report).
struct ProbeReport {
  uint64_t sent = 0;        ///< sequence numbers in the window
  uint64_t received = 0;    ///< distinct sequence numbers that arrived
  uint64_t lost = 0;        ///< sent - received
  uint64_t reordered = 0;   ///< arrivals with a lower sequence number than an earlier arrival
  uint64_t duplicates = 0;  ///< arrivals of a sequence number that had arrived already
  double worstLatencyMs = 0;  ///< one-way, send time to the receiver thread's recv()
  double p99LatencyMs = 0;
  double p50LatencyMs = 0;
  double longestGapMs = 0;     ///< longest time between two consecutive arrivals
  uint64_t longestLossRun = 0;  ///< most consecutive sequence numbers lost
  double seconds = 0;          ///< from the first to the last send of the window
  uint32_t pps = 0;            ///< the configured rate
  uint64_t senderStalls = 0;   ///< times the sender woke over ProbeOptions::stallSkip late
  uint64_t notSent = 0;        ///< packets those stalls skipped (not counted in `sent`)
  double longestSenderStallMs = 0;

  /// {"sent", "received", "lost", "reordered", "duplicates", "worst_latency_ms",
  ///  "p99_latency_ms", "p50_latency_ms", "longest_gap_ms", "longest_loss_run", "seconds", "pps",
  ///  "sender_stalls", "not_sent", "longest_sender_stall_ms"}
  nlohmann::json toJson() const;
};

/// Two-column text for operators ("sent        20000", ...).
std::string renderProbeReport(const ProbeReport& report, const std::string& title);

class Probe {
 public:
  /// Opens both sockets (receiver bound to target:ephemeral port in `receiverNs`, sender
  /// connected to it from `senderNs`) and starts the sender and receiver threads.
  /// Errors: EINVAL for pps 0 or a payload below 24 bytes; ENOENT for a missing namespace
  /// (/run/netns/<name>); the errno of setns/socket/bind/connect, naming the namespace.
  static Result<std::unique_ptr<Probe>> start(const ProbeOptions& options);

  ~Probe();  ///< stops the threads (as stop() without the drain)
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  /// What it was started with (the target address among them).
  const ProbeOptions& options() const { return options_; }

  /// The sequence number the next packet will carry: marks a window boundary while running.
  uint64_t nextSeq() const { return nextSeq_.load(std::memory_order_relaxed); }

  /// Blocks until a timed run (duration > 0) has sent everything; returns at once otherwise.
  void waitSent();

  /// Stops sending, waits `drain` for late packets, stops receiving; returns the whole run's
  /// report. Idempotent (later calls return the same report).
  ProbeReport stop();

  /// After stop(): the report over sequence numbers [fromSeq, toSeq) (clamped to what was sent).
  ProbeReport report(uint64_t fromSeq, uint64_t toSeq) const;

 private:
  struct Arrival {
    uint64_t seq;
    int64_t sentNs;
    int64_t recvNs;
  };
  /// A sender stall: the packets it skipped before sending sequence number `seq`.
  struct Stall {
    uint64_t seq;
    uint64_t skipped;
    int64_t lateNs;
  };
  Probe(const ProbeOptions& options, int sendFd, int recvFd, uint32_t runId);
  void sendLoop();
  void receiveLoop();

  ProbeOptions options_;
  int sendFd_ = -1;
  int recvFd_ = -1;
  uint32_t runId_ = 0;
  std::atomic<uint64_t> nextSeq_{0};
  std::atomic<bool> stopSending_{false};
  std::atomic<bool> stopReceiving_{false};
  std::vector<int64_t> sendNs_;    ///< by sequence number (sender thread; read after stop)
  std::vector<Arrival> arrivals_;  ///< in arrival order (receiver thread; read after stop)
  std::vector<Stall> stalls_;      ///< sender thread; read after stop
  std::thread sender_;
  std::thread receiver_;
  bool stopped_ = false;
  ProbeReport total_;
};

/// The address `sluice lab probe CIRCUIT` sends to: the circuit's first IPv4 host address in the
/// subs namespace (IPv6 when it has none), from the lab's inputs. Errors as resolveTargets().
Result<IpNet> probeTarget(const LabState& state, const std::string& circuit);

/// Starts a probe at probeTarget(state, circuit) with `pps` packets per second for `duration`
/// (0 = until stop()), the other options at their defaults: what `sluice lab probe CIRCUIT` and
/// the lab tests run. Errors as probeTarget() and Probe::start().
Result<std::unique_ptr<Probe>> startCircuitProbe(const LabState& state, const std::string& circuit,
                                                 uint32_t pps,
                                                 std::chrono::milliseconds duration = {});

}  // namespace sluice::lab
