#pragma once
// Real collectors for the flow export tests: nfcapd (nfdump) receiving on a loopback UDP port
// and its records read back with `nfdump -o csv`, and tshark capturing on loopback and decoding
// IPFIX/NetFlow with its own dissector. Shared by the collector test and the lab test.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/Error.h"
#include "common/Process.h"

namespace sluice::flowexport::test {

/// One decoded record, as a collector printed it.
struct DecodedFlow {
  std::string src;  ///< address text as the tool prints it
  std::string dst;
  uint16_t srcPort = 0;
  uint16_t dstPort = 0;
  int protocol = 0;
  uint64_t bytes = 0;
  uint64_t packets = 0;
  uint32_t input = 0;
  uint32_t output = 0;
  int direction = -1;    ///< -1 when the format has none (v5)
  double startUnix = 0;  ///< seconds, wall clock, 0 when not printed
};

/// A UDP port on 127.0.0.1 that was free a moment ago.
uint16_t freeUdpPort();
/// True while something listens on UDP `port` of `hexAddress` ("0100007F" = 127.0.0.1) in
/// this network namespace, or the one `prefix` enters ({"ip", "netns", "exec", NS}).
bool udpListening(uint16_t port, const std::vector<std::string>& prefix = {},
                  const std::string& hexAddress = "0100007F");

/// nfcapd in a fresh directory, listening on `bindAddress`:`port`.
class Nfcapd {
 public:
  /// Starts it and waits (up to 5 s) until the port is bound. `prefix`: argv prefix to run it
  /// with (e.g. {"ip", "netns", "exec", "shaper"}). Errors: start failure, never bound.
  static Result<Nfcapd> start(uint16_t port, const std::vector<std::string>& prefix = {},
                              const std::string& bindAddress = "127.0.0.1");
  /// SIGTERM (nfcapd writes its file and its statistics), then every record with nfdump.
  /// `log` receives nfcapd's output (its "Sequence Errors: N" line).
  Result<std::vector<DecodedFlow>> stopAndRead(std::string& log);

  Nfcapd(Nfcapd&&) = default;
  Nfcapd& operator=(Nfcapd&&) = default;
  ~Nfcapd();

 private:
  Nfcapd() = default;
  std::string dir_;
  std::optional<process::Child> child_;
};

/// Parses `nfdump -o csv` output (header line first).
std::vector<DecodedFlow> parseNfdumpCsv(const std::string& csv);

/// tshark capturing into a file until stopped.
class TsharkCapture {
 public:
  /// Captures UDP `port` on loopback.
  static Result<TsharkCapture> start(uint16_t port);
  /// Captures `filter` (BPF syntax) on `interface`, run with `prefix` (a namespace).
  static Result<TsharkCapture> start(const std::vector<std::string>& prefix,
                                     const std::string& interface, const std::string& filter);
  /// Stops the capture and decodes it as cflow (NetFlow/IPFIX) on the port given to start().
  Result<std::vector<DecodedFlow>> stopAndDecode();
  /// Stops the capture; per (src, dst, sport, dport, proto) the IP packets' total lengths summed
  /// (bytes) and counted (packets), as `DecodedFlow`s (the ground truth of a lab test).
  Result<std::vector<DecodedFlow>> stopAndSumIpLengths();
  TsharkCapture(TsharkCapture&&) = default;
  TsharkCapture& operator=(TsharkCapture&&) = default;
  ~TsharkCapture();

 private:
  TsharkCapture() = default;
  uint16_t port_ = 0;
  std::string file_;
  std::optional<process::Child> child_;
};

}  // namespace sluice::flowexport::test
