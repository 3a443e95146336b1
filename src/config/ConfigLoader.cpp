#include "config/ConfigLoader.h"

#include "config/OtherSection.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "common/IpNet.h"
#include "config/LqosSchema.h"
#include "config/Sqm.h"
#include "config/TomlPrecheck.h"
#include "config/TomlSchema.h"

namespace sluice::config {
namespace {

using detail::CheckContext;
using detail::TableView;

constexpr size_t kMaxIfnameLength = 15;  // IFNAMSIZ - 1

// Sections the loader turns into typed fields; every other section goes to otherSections.
constexpr std::string_view kTypedSections[] = {"bridge", "single_interface", "queues", "ip_ranges",
                                               "sluice", "ha"};
// Top-level keys with a Config field; the other known top-level keys go to otherSections[""].
constexpr std::string_view kTypedTopKeys[] = {
    "version",   "lqos_directory",      "node_id",
    "node_name", "packet_capture_time", "queue_check_period_ms"};

template <typename List>
bool listed(const List& list, std::string_view word) {
  return std::find(std::begin(list), std::end(list), word) != std::end(list);
}

/// TOML text of a string value (escaped), as diagnostics show offending values.
std::string quoted(std::string_view text) {
  return detail::quoteString(text);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

/// Linux's dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or whitespace.
bool validIfname(std::string_view name) {
  if (name.empty() || name.size() > kMaxIfnameLength || name == "." || name == "..") {
    return false;
  }
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || c == '\0' || std::isspace(static_cast<unsigned char>(c));
  });
}

/// "host:port" or "[v6]:port" with port 1..65535.
bool validListenAddress(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return false;
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
    return false;
  }
  if (host.front() == '[') {
    return host.size() > 2 && host.back() == ']' &&
           IpNet::parse(host.substr(1, host.size() - 2)).has_value();
  }
  return host.find_first_of(": \t") == std::string_view::npos;
}

/// The loader's pass over one checked document.
class Builder {
 public:
  Builder(const toml::table& root, CheckContext& ctx)
      : root_(root), ctx_(ctx), top_(&root, "", ctx, SourceLocation{ctx.file, 0, 0}) {}

  Config build() {
    readTop();
    readInterfaces();
    readQueues();
    readIpRanges();
    readSluice();
    readHa();
    checkStormguard();
    checkSubnetList(top_.sub("flows"), "do_not_track_subnets");
    storeOtherSections();
    defaultOverridesWhenSynced();
    return config_;
  }

 private:
  void error(const SourceLocation& where, std::string_view category, std::string message,
             std::string value) {
    ctx_.diags->error(where, std::string(category), std::move(message), std::move(value));
  }

  void readTop() {
    if (auto v = top_.string("version")) {
      if (trim(*v) != "1.5") {
        error(top_.where("version"), "unsupported-version",
              "version must be \"1.5\" (the LibreQoS 1.5/2.x lqos.conf layout)", quoted(*v));
      }
      config_.version = *v;
    }
    if (auto v = top_.string("lqos_directory")) {
      config_.lqosDirectory = *v;
    }
    if (auto v = top_.string("node_id")) {
      config_.nodeId = *v;
    }
    if (auto v = top_.string("node_name")) {
      config_.nodeName = *v;
    }
    if (auto v = top_.integer("packet_capture_time")) {
      config_.packetCaptureTimeSeconds = static_cast<uint32_t>(*v);
    }
    if (auto v = top_.integer("queue_check_period_ms")) {
      config_.queueCheckPeriodMs = static_cast<uint64_t>(*v);
    }
  }

  /// Reports an invalid interface name; returns the name either way.
  std::string interfaceName(const TableView& view, std::string_view key, std::string fallback) {
    std::optional<std::string> name = view.string(key);
    if (!name) {
      return fallback;
    }
    if (!validIfname(*name)) {
      error(view.where(key), "invalid-interface-name",
            fmt::format("{} must be a Linux interface name: 1..15 characters, no '/', ':' or "
                        "whitespace",
                        view.qualified(key)),
            quoted(*name));
    }
    return *name;
  }

  void readInterfaces() {
    bool hasBridge = root_.contains("bridge");
    bool hasStick = root_.contains("single_interface");
    if (hasBridge && hasStick) {
      error(top_.where("single_interface"), "interface-mode-conflict",
            "lqos.conf may have [bridge] or [single_interface], not both", "single_interface");
    } else if (!hasBridge && !hasStick) {
      error(SourceLocation{ctx_.file, 0, 0}, "interface-mode-missing",
            "lqos.conf needs a [bridge] (two interfaces) or a [single_interface] (on a stick) "
            "section",
            "");
    }
    TableView bridge = top_.sub("bridge");
    if (bridge.present()) {
      BridgeConfig b;
      b.useXdpBridge = bridge.boolean("use_xdp_bridge").value_or(b.useXdpBridge);
      b.toInternet = interfaceName(bridge, "to_internet", b.toInternet);
      b.toNetwork = interfaceName(bridge, "to_network", b.toNetwork);
      if (b.toInternet == b.toNetwork) {
        error(bridge.where("to_network"), "same-interface",
              "bridge.to_internet and bridge.to_network must be different interfaces",
              quoted(b.toNetwork));
      }
      config_.bridge = b;
    }
    TableView stick = top_.sub("single_interface");
    if (stick.present()) {
      SingleInterfaceConfig s;
      s.interface = interfaceName(stick, "interface", s.interface);
      s.internetVlan =
          static_cast<uint16_t>(stick.integer("internet_vlan").value_or(s.internetVlan));
      s.networkVlan = static_cast<uint16_t>(stick.integer("network_vlan").value_or(s.networkVlan));
      if (s.internetVlan == s.networkVlan) {
        error(stick.where("network_vlan"), "same-vlan",
              "single_interface.internet_vlan and single_interface.network_vlan must differ",
              std::to_string(s.networkVlan));
      }
      config_.singleInterface = s;
    }
  }

  void readQueues() {
    TableView q = top_.sub("queues");
    QueuesConfig& out = config_.queues;
    out.defaultSqm = q.string("default_sqm").value_or(out.defaultSqm);
    out.monitorOnly = q.boolean("monitor_only").value_or(out.monitorOnly);
    if (auto mode = q.string("queue_mode")) {
      out.queueMode = *mode == "observe" ? QueueMode::Observe : QueueMode::Shape;
    } else {
      // LibreQoS: the legacy monitor_only flag decides only when queue_mode is absent.
      out.queueMode = out.monitorOnly ? QueueMode::Observe : QueueMode::Shape;
    }
    out.uplinkBandwidthMbps = q.number("uplink_bandwidth_mbps").value_or(out.uplinkBandwidthMbps);
    out.downlinkBandwidthMbps =
        q.number("downlink_bandwidth_mbps").value_or(out.downlinkBandwidthMbps);
    out.generatedPnDownloadMbps =
        q.number("generated_pn_download_mbps").value_or(out.generatedPnDownloadMbps);
    out.generatedPnUploadMbps =
        q.number("generated_pn_upload_mbps").value_or(out.generatedPnUploadMbps);
    out.dryRun = q.boolean("dry_run").value_or(out.dryRun);
    out.sudo = q.boolean("sudo").value_or(out.sudo);
    if (auto n = q.integer("override_available_queues"); n && *n > 0) {
      out.overrideAvailableQueues = static_cast<uint32_t>(*n);  // 0 means "not set" (LibreQoS)
    }
    out.useBinpacking = q.boolean("use_binpacking").value_or(out.useBinpacking);
    if (auto lazy = q.string("lazy_queues")) {
      out.lazyQueues = *lazy == "Full"  ? LazyQueues::Full
                       : *lazy == "Htb" ? LazyQueues::Htb
                                        : LazyQueues::No;
    }
    if (auto v = q.integer("lazy_expire_seconds")) {
      out.lazyExpireSeconds = static_cast<uint32_t>(*v);
    }
    if (auto v = q.integer("lazy_threshold_bytes")) {
      out.lazyThresholdBytes = static_cast<uint64_t>(*v);
    }
    if (auto v = q.number("fast_queues_fq_codel")) {
      out.fastQueuesFqCodel = *v;
    }
    readDefaultLeaf(q);
  }

  void readDefaultLeaf(const TableView& q) {
    // A default_sqm of the wrong type is already reported; do not parse the default instead.
    bool sqmBad = q.contains("default_sqm") && q.node("default_sqm") == nullptr;
    if (!sqmBad) {
      if (auto leaf = parseSqmText(config_.queues.defaultSqm, q.where("default_sqm"),
                                   q.qualified("default_sqm"), *ctx_.diags)) {
        config_.defaultLeaf = *leaf;
      }
    }
  }

  void checkSubnetList(const TableView& view, std::string_view key) {
    const toml::node* list = view.node(key);
    if (list == nullptr) {
      return;
    }
    for (const toml::node& element : *list->as_array()) {
      const std::string& text = element.as_string()->get();
      if (!IpNet::parse(text)) {
        error(ctx_.at(element.source()), "invalid-subnet",
              fmt::format("{} holds an invalid address or CIDR (host bits must be zero)",
                          view.qualified(key)),
              quoted(text));
      }
    }
  }

  void readIpRanges() {
    TableView r = top_.sub("ip_ranges");
    IpRangesConfig& out = config_.ipRanges;
    checkSubnetList(r, "ignore_subnets");
    checkSubnetList(r, "allow_subnets");
    out.ignoreSubnets = r.strings("ignore_subnets").value_or(out.ignoreSubnets);
    out.allowSubnets = r.strings("allow_subnets").value_or(out.allowSubnets);
    out.unknownIpHonorsIgnore =
        r.boolean("unknown_ip_honors_ignore").value_or(out.unknownIpHonorsIgnore);
    out.unknownIpHonorsAllow =
        r.boolean("unknown_ip_honors_allow").value_or(out.unknownIpHonorsAllow);
  }

  /// A [sluice] string that must not be empty.
  std::string nonEmpty(const TableView& view, std::string_view key, std::string fallback) {
    std::optional<std::string> v = view.string(key);
    if (!v) {
      return fallback;
    }
    if (trim(*v).empty()) {
      error(view.where(key), "invalid-value",
            fmt::format("{} must not be empty", view.qualified(key)), quoted(*v));
      return fallback;
    }
    return *v;
  }

  void readSluice() {
    TableView s = top_.sub("sluice");
    SluiceConfig& out = config_.sluice;
    std::string dir = config_.lqosDirectory;
    if (!dir.empty() && dir.back() != '/') {
      dir += '/';
    }
    out.networkJson = nonEmpty(s, "network_json", dir + "network.json");
    out.shapedDevicesCsv = nonEmpty(s, "shaped_devices_csv", dir + "ShapedDevices.csv");
    out.stateDirectory = nonEmpty(s, "state_directory", out.stateDirectory);
    out.controlSocket = nonEmpty(s, "control_socket", out.controlSocket);
    out.webserverListen = nonEmpty(s, "webserver_listen", out.webserverListen);
    if (s.string("webserver_listen") && !validListenAddress(out.webserverListen)) {
      error(s.where("webserver_listen"), "invalid-listen-address",
            "sluice.webserver_listen must be HOST:PORT or [IPV6]:PORT with port 1..65535",
            quoted(out.webserverListen));
    }
    out.webRoot = s.string("web_root").value_or(out.webRoot);
    out.usersFile = s.string("users_file").value_or(out.usersFile);
    out.historyDb = s.string("history_db").value_or(out.historyDb);
    if (auto v = s.integer("history_max_bytes")) {
      out.historyMaxBytes = static_cast<uint64_t>(*v);
    }
    out.metricsPerCircuit = s.boolean("metrics_per_circuit").value_or(out.metricsPerCircuit);
    out.devicesOverrides = s.string("devices_overrides").value_or(out.devicesOverrides);
    out.tlsCertificate = s.string("tls_certificate").value_or(out.tlsCertificate);
    out.tlsPrivateKey = s.string("tls_private_key").value_or(out.tlsPrivateKey);
    out.xdpMetadataOff = s.string("xdp_metadata").value_or("auto") == "off";
    out.queueHolderTbf = s.string("queue_holder").value_or("none") == "tbf";
    if (out.tlsCertificate.empty() != out.tlsPrivateKey.empty()) {
      error(s.where(out.tlsCertificate.empty() ? "tls_private_key" : "tls_certificate"),
            "tls-incomplete", "sluice.tls_certificate and sluice.tls_private_key go together",
            "");
    }
    if (auto fallback = s.string("leaf_fallback")) {
      out.leafFallback = *fallback;
      if (!trim(*fallback).empty()) {
        parseSqmText(*fallback, s.where("leaf_fallback"), s.qualified("leaf_fallback"),
                     *ctx_.diags);
      }
    }
  }

  /// When a sync owns ShapedDevices.csv ([sync] mode integration/custom, or an enabled
  /// integration without [sync] mode) it rewrites that file on every run, so live API edits
  /// default to an overrides file in the state directory that survives syncs
  /// (<state_directory>/ShapedDevices.overrides.csv) unless devices_overrides names one.
  void defaultOverridesWhenSynced() {
    SluiceConfig& s = config_.sluice;
    if (!s.devicesOverrides.empty()) {
      return;
    }
    std::string mode = enabledIntegration(config_).empty() ? "manual" : "integration";
    OtherSection(config_, "sync").read("mode", mode);
    const bool synced = mode != "manual";
    if (synced) {
      s.devicesOverrides = s.stateDirectory + "/ShapedDevices.overrides.csv";
    }
  }

  /// One argv (an array of strings) or an array of argvs; every argv non-empty.
  std::vector<std::vector<std::string>> commands(const TableView& view, std::string_view key) {
    const toml::node* node = view.node(key);
    if (node == nullptr || !node->is_array()) {
      return {};
    }
    const toml::array& list = *node->as_array();
    std::vector<std::vector<std::string>> out;
    const auto argv = [](const toml::array& words) -> std::optional<std::vector<std::string>> {
      std::vector<std::string> argv;
      for (const toml::node& word : words) {
        if (!word.is_string()) {
          return std::nullopt;
        }
        argv.push_back(*word.value<std::string>());
      }
      return argv.empty() || argv.front().empty() ? std::nullopt : std::optional(argv);
    };
    bool ok = !list.empty();
    if (ok && list.front().is_string()) {
      auto one = argv(list);
      ok = one.has_value();
      if (ok) {
        out.push_back(std::move(*one));
      }
    } else {
      for (const toml::node& element : list) {
        auto one = element.is_array() ? argv(*element.as_array()) : std::nullopt;
        if (!one) {
          ok = false;
          break;
        }
        out.push_back(std::move(*one));
      }
    }
    if (!ok) {
      std::ostringstream text;
      text << list;
      error(view.where(key), "invalid-command",
            fmt::format("{} must be an argv (a non-empty array of strings, run without a shell) "
                        "or an array of argvs",
                        view.qualified(key)),
            text.str());
      return {};
    }
    return out;
  }

  void readHa() {
    TableView h = top_.sub("ha");
    HaConfig& out = config_.ha;
    out.role = h.string("role").value_or(out.role);
    out.failMode = h.string("fail_mode").value_or("open") == "closed" ? FailMode::Closed
                                                                       : FailMode::Open;
    out.drainCommand = commands(h, "drain_command");
    out.restoreCommand = commands(h, "restore_command");
    const auto seconds = [&](std::string_view key, uint32_t fallback) {
      auto v = h.integer(key);
      return v ? static_cast<uint32_t>(*v) : fallback;
    };
    out.hookTimeoutSeconds = seconds("hook_timeout_seconds", out.hookTimeoutSeconds);
    out.holdDownSeconds = seconds("hold_down_seconds", out.holdDownSeconds);
    out.startGraceSeconds = seconds("start_grace_seconds", out.startGraceSeconds);
    out.maxInputAgeSeconds = seconds("max_input_age_seconds", out.maxInputAgeSeconds);
    out.peer = h.string("peer").value_or(out.peer);
    out.drillRecord = h.string("drill_record").value_or(out.drillRecord);
    if (!out.restoreCommand.empty() && out.drainCommand.empty()) {
      error(h.where("restore_command"), "ha-hook-incomplete",
            "ha.restore_command without ha.drain_command: nothing would ever drain", "");
    }
  }

  /// Relationships StormguardConfig::validate() enforces beyond single-key ranges.
  void checkStormguard() {
    TableView sg = top_.sub("stormguard");
    if (!sg.present()) {
      return;
    }
    bool enabled = sg.boolean("enabled").value_or(false);
    bool allSites = sg.boolean("all_sites").value_or(false);
    std::vector<std::string> targets = sg.strings("targets").value_or(std::vector<std::string>{});
    bool targetsBad = sg.contains("targets") && sg.node("targets") == nullptr;
    if (enabled && !allSites && targets.empty() && !targetsBad) {
      error(sg.where("targets"), "stormguard-no-targets",
            "stormguard.targets must list sites when stormguard.enabled = true and "
            "stormguard.all_sites = false",
            "[]");
    }
    const std::string target = sg.string("active_ping_target").value_or("1.1.1.1");
    const auto parsed = IpNet::parse(target);
    if (enabled && sg.string("strategy").value_or("") == "delay_probe_active" &&
        (!parsed || target.find('/') != std::string::npos)) {
      error(sg.where("active_ping_target"), "invalid-value",
            "stormguard.active_ping_target must be an IPv4 or IPv6 address (sluiced does not "
            "resolve host names) when strategy = \"delay_probe_active\"",
            quoted(target));
    }
    if (sg.boolean("circuit_fallback_enabled").value_or(false)) {
      std::string sqm = std::string(trim(sg.string("circuit_fallback_sqm").value_or("fq_codel")));
      std::transform(sqm.begin(), sqm.end(), sqm.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (sqm != "fq_codel" && sqm != "cake") {
        error(sg.where("circuit_fallback_sqm"), "invalid-value",
              "stormguard.circuit_fallback_sqm must be fq_codel or cake when "
              "circuit_fallback_enabled = true",
              quoted(sqm));
      }
    }
  }

  void storeOtherSections() {
    auto& other = config_.otherSections;
    for (auto&& [k, v] : root_) {
      std::string_view name = k.str();
      if (ctx_.bad.contains(&v) || listed(kTypedSections, name) || listed(kTypedTopKeys, name)) {
        continue;
      }
      if (!v.is_table()) {
        other[""][std::string(name)] = detail::renderValue(v);
        continue;
      }
      // LibreQoS reads the legacy [spylnx_integration] as [splynx_integration] when the
      // canonical section is absent, and enable_spylnx as enable_splynx.
      std::string section(name);
      if (name == "spylnx_integration") {
        if (root_.contains("splynx_integration")) {
          continue;
        }
        section = "splynx_integration";
      }
      top_.sub(name).flattenInto(other[section]);
    }
    if (auto it = other.find("splynx_integration"); it != other.end()) {
      auto& keys = it->second;
      if (auto legacy = keys.find("enable_spylnx"); legacy != keys.end()) {
        keys.try_emplace("enable_splynx", legacy->second);
        keys.erase(legacy);
      }
    }
  }

  const toml::table& root_;
  CheckContext& ctx_;
  TableView top_;
  Config config_;
};

/// parseConfig() into a fresh collector.
std::optional<Config> parseInto(std::string_view text, const std::string& fileName,
                                Diagnostics& diags) {
  if (!detail::precheckToml(text, fileName, diags)) {
    return std::nullopt;
  }
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(fileName));
  } catch (const toml::parse_error& e) {
    diags.error(SourceLocation{fileName, e.source().begin.line, e.source().begin.column},
                "toml-syntax", std::string(e.description()));
    return std::nullopt;
  }
  CheckContext ctx{fileName, &diags, {}};
  detail::checkTable(root, detail::lqosRootSchema(), "", ctx);
  Config config = Builder(root, ctx).build();
  if (diags.hasErrors()) {
    return std::nullopt;
  }
  return config;
}

}  // namespace

std::optional<Config> parseConfig(std::string_view text, const std::string& fileName,
                                  Diagnostics& diags) {
  Diagnostics found;
  std::optional<Config> config = parseInto(text, fileName, found);
  // Report in document order (file-level problems first), whatever pass found them.
  std::vector<Diagnostic> ordered = found.all();
  std::stable_sort(ordered.begin(), ordered.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.where.line != b.where.line ? a.where.line < b.where.line
                                        : a.where.column < b.where.column;
  });
  for (Diagnostic& d : ordered) {
    diags.add(std::move(d));
  }
  return config;
}

std::optional<Config> loadConfig(const std::string& path, Diagnostics& diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.error(SourceLocation{path, 0, 0}, "file-unreadable",
                fmt::format("cannot open lqos.conf: {}", std::strerror(errno)), path);
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    diags.error(SourceLocation{path, 0, 0}, "file-unreadable",
                fmt::format("cannot read lqos.conf: {}", std::strerror(errno)), path);
    return std::nullopt;
  }
  return parseConfig(content.str(), path, diags);
}

}  // namespace sluice::config
