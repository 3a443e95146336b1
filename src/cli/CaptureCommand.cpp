// sluice capture ADDRESS|--circuit ID [--seconds S] [--snaplen N] -w FILE: a packet capture of
// one subscriber by the running sluiced (daemon/CaptureService.h, docs/capture.md), over the
// control socket: POST /api/capture, then GET /api/capture/{id} until the file is ready.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "api/ControlClient.h"
#include "api/SocketPath.h"
#include "cli/Commands.h"

namespace sluice::cli {

namespace {

using nlohmann::json;

struct CaptureOptions {
  std::string socket{api::kDefaultSocketPath};
  std::string address;
  std::string circuit;
  uint32_t seconds = 0;  ///< 0 = the daemon's default (packet_capture_time)
  uint32_t snaplen = 0;  ///< 0 = the daemon's default
  std::string output;
};

std::string errorText(const json& body) {
  return body.is_object() && body.contains("error") ? body["error"].get<std::string>()
                                                    : body.dump();
}

/// Writes `bytes` to `path` with mode 0600 (a capture holds subscribers' traffic).
Result<void> writePrivate(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return makeError(errno, "cannot write " + path);
  }
  ::fchmod(fd, 0600);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      return makeError(saved, "cannot write " + path);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    return makeError(errno, "cannot write " + path);
  }
  return {};
}

int run(const CaptureOptions& o) {
  if (o.address.empty() == o.circuit.empty()) {
    fmt::print(stderr, "sluice capture: give an ADDRESS or --circuit ID (one of them)\n");
    return 2;
  }
  json request = o.circuit.empty() ? json{{"address", o.address}} : json{{"circuit", o.circuit}};
  if (o.seconds > 0) {
    request["seconds"] = o.seconds;
  }
  if (o.snaplen > 0) {
    request["snaplen"] = o.snaplen;
  }
  auto started = api::request(o.socket, "POST", "/api/capture", &request, std::chrono::seconds(10));
  if (!started) {
    fmt::print(stderr, "sluice capture: {}\n", started.error().message());
    return 1;
  }
  if (started->status != 202) {
    fmt::print(stderr, "sluice capture: {} (HTTP {})\n", errorText(started->body), started->status);
    return 1;
  }
  const json& s = started->body;
  const std::string id = s.value("id", "");
  fmt::print(stderr, "capturing {} on {} for {} s (kernel filter: {})\n", s.value("target", ""),
             s.value("interface", ""), s.value("seconds", 0), s.value("filter", ""));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(s.value("seconds", 0) + 30);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto answer =
        api::requestRaw(o.socket, "GET", "/api/capture/" + id, nullptr, std::chrono::seconds(60));
    if (!answer) {
      fmt::print(stderr, "sluice capture: {}\n", answer.error().message());
      return 1;
    }
    if (answer->status == 202 && std::chrono::steady_clock::now() < deadline) {
      continue;
    }
    if (answer->status != 200 || answer->contentType != "application/vnd.tcpdump.pcap") {
      const json body = json::parse(answer->body, nullptr, false);
      fmt::print(stderr, "sluice capture: capture {} {} (HTTP {})\n", id,
                 body.is_object() && body.contains("state")
                     ? fmt::format("{}: {}", body.value("state", ""), body.value("error", ""))
                     : errorText(body),
                 answer->status);
      return 1;
    }
    if (auto written = writePrivate(o.output, answer->body); !written) {
      fmt::print(stderr, "sluice capture: {}\n", written.error().message());
      return 1;
    }
    const std::string drops = answer->headers["x-sluice-capture-kernel-drops"];
    fmt::print("{}: {} packets ({} bytes), {} dropped by the kernel, {} by the interface\n",
               o.output, answer->headers["x-sluice-capture-packets"], answer->body.size(),
               drops.empty() ? "?" : drops, answer->headers["x-sluice-capture-interface-drops"]);
    if (!drops.empty() && drops != "0") {
      fmt::print(stderr, "sluice capture: the capture is incomplete ({} packets dropped)\n", drops);
    }
    return 0;
  }
}

}  // namespace

void addCaptureCommand(CLI::App& app) {
  auto o = std::make_shared<CaptureOptions>();
  CLI::App* cmd = app.add_subcommand(
      "capture", "Packet capture of one subscriber (a host or a circuit) to a pcap file");
  cmd->add_option("address", o->address, "IPv4 or IPv6 address (or prefix) to capture");
  cmd->add_option("--circuit", o->circuit, "Capture every address of this circuit's devices");
  cmd->add_option("--seconds", o->seconds,
                  "Duration (default: lqos.conf packet_capture_time, 10 s)");
  cmd->add_option("--snaplen", o->snaplen, "Bytes kept per packet (default 262144: all)");
  cmd->add_option("-w,--write", o->output, "pcap file to write (mode 0600)")->required();
  cmd->add_option("--socket", o->socket,
                  "sluiced's control socket (the lab's: "
                  "/run/sluice-lab/sluiced.sock)")
      ->capture_default_str();
  cmd->callback([o] { setExitCode(run(*o)); });
}

}  // namespace sluice::cli
