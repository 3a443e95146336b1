#include "CollectorSupport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <tuple>

#include <fmt/format.h>

namespace sluice::flowexport::test {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

uint64_t toU64(const std::string& s) {
  return s.empty() ? 0 : std::strtoull(s.c_str(), nullptr, 10);
}

/// "2026-12-07 00:11:02.123" (nfdump, UTC) or "Dec  7, 2026 00:11:02.123000000 UTC" (tshark).
double parseTime(const std::string& text, const char* format) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), format, &tm);
  if (rest == nullptr) {
    return 0;
  }
  double frac = 0;
  if (*rest == '.') {
    frac = std::strtod(rest, nullptr);
  }
  return static_cast<double>(timegm(&tm)) + frac;
}

/// nfdump prints protocols by name ("TCP", "UDP", "ICMP6") and others by number.
int protocolNumber(const std::string& text) {
  static const std::map<std::string, int> kNames{{"ICMP", 1},   {"TCP", 6},  {"UDP", 17},
                                                 {"ICMP6", 58}, {"GRE", 47}, {"ESP", 50}};
  auto it = kNames.find(text);
  return it != kNames.end() ? it->second : static_cast<int>(toU64(text));
}

std::string tempDir(const std::string& what) {
  std::string pattern = "/tmp/sluice-" + what + "-XXXXXX";
  char* made = mkdtemp(pattern.data());
  return made != nullptr ? std::string(made) : std::string();
}

}  // namespace

uint16_t freeUdpPort() {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool udpListening(uint16_t port, const std::vector<std::string>& prefix,
                  const std::string& hexAddress) {
  std::string table;
  if (prefix.empty()) {
    std::ifstream file("/proc/net/udp");
    table.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  } else {
    process::Argv argv = prefix;
    argv.push_back("cat");
    argv.push_back("/proc/net/udp");
    auto out = process::run(argv);
    table = out ? out->out : std::string();
  }
  std::istringstream in(table);
  const std::string needle = fmt::format("{}:{:04X}", hexAddress, port);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

Result<Nfcapd> Nfcapd::start(uint16_t port, const std::vector<std::string>& prefix,
                             const std::string& bindAddress) {
  Nfcapd n;
  n.dir_ = tempDir("nfcapd");
  process::Argv argv = prefix;
  for (const std::string& a :
       {std::string("nfcapd"), std::string("-w"), n.dir_, std::string("-b"), bindAddress,
        std::string("-p"), std::to_string(port), std::string("-t"), std::string("3600")}) {
    argv.push_back(a);
  }
  auto child = process::Child::start(argv);
  if (!child) {
    return std::unexpected(child.error());
  }
  n.child_.emplace(std::move(*child));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (udpListening(port, prefix)) {
      return n;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return makeError(ETIMEDOUT, fmt::format("nfcapd never bound UDP port {}", port));
}

Nfcapd::~Nfcapd() {
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

Result<std::vector<DecodedFlow>> Nfcapd::stopAndRead(std::string& log) {
  kill(child_->pid(), SIGTERM);
  auto done = child_->wait(std::chrono::seconds(10));
  if (!done) {
    return std::unexpected(done.error());
  }
  log = done->out + done->err;
  setenv("TZ", "UTC", 1);
  auto csv = process::runChecked({"nfdump", "-R", dir_, "-o", "csv", "-q"});
  if (!csv) {
    return std::unexpected(csv.error());
  }
  return parseNfdumpCsv(*csv);
}

std::vector<DecodedFlow> parseNfdumpCsv(const std::string& csv) {
  std::vector<DecodedFlow> out;
  std::istringstream in(csv);
  std::string line;
  std::map<std::string, size_t> col;
  // nfdump 1.7's csv header (printed even with -q in some versions; the default order else).
  const std::string kDefault =
      "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir";
  auto setHeader = [&col](const std::string& header) {
    col.clear();
    auto names = split(header, ',');
    for (size_t i = 0; i < names.size(); ++i) {
      col[names[i]] = i;
    }
  };
  setHeader(kDefault);
  while (std::getline(in, line)) {
    if (line.rfind("ts,", 0) == 0) {
      setHeader(line);
      continue;
    }
    auto f = split(line, ',');
    if (f.size() < col.size() || f[0].empty() ||
        !std::isdigit(static_cast<unsigned char>(f[0][0]))) {
      continue;  // summary lines
    }
    DecodedFlow d;
    d.src = f[col["sa"]];
    d.dst = f[col["da"]];
    d.srcPort = static_cast<uint16_t>(toU64(f[col["sp"]]));
    d.dstPort = static_cast<uint16_t>(toU64(f[col["dp"]]));
    d.protocol = protocolNumber(f[col["pr"]]);
    d.packets = toU64(f[col["ipkt"]]);
    d.bytes = toU64(f[col["ibyt"]]);
    d.input = static_cast<uint32_t>(toU64(f[col["in"]]));
    d.output = static_cast<uint32_t>(toU64(f[col["out"]]));
    d.direction = static_cast<int>(toU64(f[col["dir"]]));
    d.startUnix = parseTime(f[col["ts"]], "%Y-%m-%d %H:%M:%S");
    out.push_back(d);
  }
  return out;
}

Result<TsharkCapture> TsharkCapture::start(uint16_t port) {
  auto t = start({}, "lo", fmt::format("udp port {}", port));
  if (t) {
    t->port_ = port;
  }
  return t;
}

Result<TsharkCapture> TsharkCapture::start(const std::vector<std::string>& prefix,
                                           const std::string& interface,
                                           const std::string& filter) {
  TsharkCapture t;
  const std::string dir = tempDir("tshark");
  t.file_ = dir + "/capture.pcapng";
  process::Argv argv = prefix;
  for (const std::string& a : {std::string("tshark"), std::string("-q"), std::string("-i"),
                               interface, std::string("-f"), filter, std::string("-w"), t.file_}) {
    argv.push_back(a);
  }
  auto child = process::Child::start(argv);
  if (!child) {
    return std::unexpected(child.error());
  }
  t.child_.emplace(std::move(*child));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    if (std::filesystem::file_size(t.file_, ec) > 0 && !ec) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));  // capture running
      return t;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return makeError(ETIMEDOUT, "tshark did not start capturing on lo");
}

TsharkCapture::~TsharkCapture() {
  if (!file_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(file_).parent_path(), ec);
  }
}

Result<std::vector<DecodedFlow>> TsharkCapture::stopAndSumIpLengths() {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(child_->pid(), SIGINT);
  if (auto done = child_->wait(std::chrono::seconds(10)); !done) {
    return std::unexpected(done.error());
  }
  auto text = process::runChecked({"tshark",      "-r", file_,         "-T", "fields",      "-E",
                                   "separator=|", "-e", "ip.src",      "-e", "ip.dst",      "-e",
                                   "tcp.srcport", "-e", "tcp.dstport", "-e", "udp.srcport", "-e",
                                   "udp.dstport", "-e", "ip.proto",    "-e", "ip.len"});
  if (!text) {
    return std::unexpected(text.error());
  }
  std::map<std::tuple<std::string, std::string, uint16_t, uint16_t, int>, DecodedFlow> sums;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto f = split(line, '|');
    if (f.size() < 8 || f[0].empty()) {
      continue;
    }
    const bool tcp = !f[2].empty();
    const auto sp = static_cast<uint16_t>(toU64(tcp ? f[2] : f[4]));
    const auto dp = static_cast<uint16_t>(toU64(tcp ? f[3] : f[5]));
    const int proto = static_cast<int>(toU64(f[6]));
    DecodedFlow& d = sums[{f[0], f[1], sp, dp, proto}];
    d.src = f[0];
    d.dst = f[1];
    d.srcPort = sp;
    d.dstPort = dp;
    d.protocol = proto;
    d.bytes += toU64(f[7]);
    d.packets += 1;
  }
  std::vector<DecodedFlow> out;
  for (auto& [id, d] : sums) {
    out.push_back(d);
  }
  return out;
}

Result<std::vector<DecodedFlow>> TsharkCapture::stopAndDecode() {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(child_->pid(), SIGINT);
  if (auto done = child_->wait(std::chrono::seconds(10)); !done) {
    return std::unexpected(done.error());
  }
  setenv("TZ", "UTC", 1);
  // One line per packet; each field lists its values (one per record) joined by ';'. A test
  // sends IPv4 and IPv6 records in different packets, so the address lists zip with the rest.
  auto text = process::runChecked({"tshark",
                                   "-r",
                                   file_,
                                   "-d",
                                   fmt::format("udp.port=={},cflow", port_),
                                   "-T",
                                   "fields",
                                   "-E",
                                   "separator=|",
                                   "-E",
                                   "occurrence=a",
                                   "-E",
                                   "aggregator=;",
                                   "-e",
                                   "cflow.srcaddr",
                                   "-e",
                                   "cflow.srcaddrv6",
                                   "-e",
                                   "cflow.dstaddr",
                                   "-e",
                                   "cflow.dstaddrv6",
                                   "-e",
                                   "cflow.srcport",
                                   "-e",
                                   "cflow.dstport",
                                   "-e",
                                   "cflow.protocol",
                                   "-e",
                                   "cflow.octets",
                                   "-e",
                                   "cflow.packets",
                                   "-e",
                                   "cflow.inputint",
                                   "-e",
                                   "cflow.outputint",
                                   "-e",
                                   "cflow.direction",
                                   "-e",
                                   "cflow.abstimestart"});
  if (!text) {
    return std::unexpected(text.error());
  }
  std::vector<DecodedFlow> out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto f = split(line, '|');
    if (f.size() < 13 || (f[0].empty() && f[1].empty())) {
      continue;  // template-only packets
    }
    auto src = split(f[0].empty() ? f[1] : f[0], ';');
    auto dst = split(f[2].empty() ? f[3] : f[2], ';');
    std::vector<std::vector<std::string>> rest;
    for (size_t i = 4; i < 13; ++i) {
      rest.push_back(split(f[i], ';'));
    }
    for (size_t r = 0; r < src.size(); ++r) {
      auto at = [&](size_t field) { return r < rest[field].size() ? rest[field][r] : ""; };
      DecodedFlow d;
      d.src = src[r];
      d.dst = r < dst.size() ? dst[r] : "";
      d.srcPort = static_cast<uint16_t>(toU64(at(0)));
      d.dstPort = static_cast<uint16_t>(toU64(at(1)));
      d.protocol = static_cast<int>(toU64(at(2)));
      d.bytes = toU64(at(3));
      d.packets = toU64(at(4));
      d.input = static_cast<uint32_t>(toU64(at(5)));
      d.output = static_cast<uint32_t>(toU64(at(6)));
      d.direction = static_cast<int>(toU64(at(7)));
      d.startUnix = parseTime(at(8), "%b %d, %Y %H:%M:%S");
      out.push_back(d);
    }
  }
  return out;
}

}  // namespace sluice::flowexport::test
