#include "config/LqosSchema.h"

#include <array>
#include <cstdint>
#include <limits>
#include <string_view>

namespace sluice::config::detail {
namespace {

constexpr double kU8Max = 255;
constexpr double kU16Max = 65535;
constexpr double kU32Max = std::numeric_limits<uint32_t>::max();

constexpr KeySpec boolean(std::string_view name) {
  return {.name = name, .kind = ValueKind::Bool};
}
constexpr KeySpec text(std::string_view name) {
  return {.name = name, .kind = ValueKind::String};
}
constexpr KeySpec texts(std::string_view name) {
  return {.name = name, .kind = ValueKind::StringArray};
}
constexpr KeySpec anyArray(std::string_view name) {
  return {.name = name, .kind = ValueKind::Array};
}
constexpr KeySpec anyTable(std::string_view name) {
  return {.name = name, .kind = ValueKind::Table, .anyFields = true};
}
constexpr KeySpec table(std::string_view name, std::span<const KeySpec> fields) {
  return {.name = name, .kind = ValueKind::Table, .fields = fields};
}
constexpr KeySpec choice(std::string_view name, std::span<const std::string_view> choices) {
  return {.name = name, .kind = ValueKind::String, .choices = choices};
}
/// Unsigned integer bounded by its Rust type (u64 keys are bounded by TOML's i64).
constexpr KeySpec unsignedInt(std::string_view name, double max = kNoMax, double min = 0) {
  return {.name = name, .kind = ValueKind::Integer, .min = min, .max = max};
}
constexpr KeySpec signedInt(std::string_view name) {
  return {.name = name, .kind = ValueKind::Integer};
}
constexpr KeySpec number(std::string_view name, double min = kNoMin, double max = kNoMax) {
  return {.name = name, .kind = ValueKind::Number, .min = min, .max = max};
}
/// A number that must be > 0.
constexpr KeySpec positive(std::string_view name, std::string_view category = "out-of-range") {
  return {.name = name,
          .kind = ValueKind::Number,
          .min = 0,
          .minExclusive = true,
          .rangeCategory = category};
}
/// A number in (0, 1].
constexpr KeySpec fraction(std::string_view name) {
  return {.name = name, .kind = ValueKind::Number, .min = 0, .max = 1, .minExclusive = true};
}
constexpr KeySpec vlan(std::string_view name) {
  return {.name = name,
          .kind = ValueKind::Integer,
          .min = 1,
          .max = 4094,
          .rangeCategory = "invalid-vlan"};
}
constexpr KeySpec bandwidth(std::string_view name) {
  return positive(name, "invalid-bandwidth");
}

constexpr std::array<std::string_view, 2> kQueueModes{"shape", "observe"};
constexpr std::array<std::string_view, 3> kLazyQueues{"No", "Htb", "Full"};
constexpr std::array<std::string_view, 2> kXdpMetadata{"auto", "off"};
constexpr std::array<std::string_view, 2> kQueueHolders{"none", "tbf"};
constexpr std::array<std::string_view, 3> kStormguardStrategies{"legacy_score", "delay_probe",
                                                                 "delay_probe_active"};
constexpr std::array<std::string_view, 2> kTreeguardCpuModes{"cpu_aware", "traffic_rtt_only"};

constexpr std::array kTuning{
    boolean("stop_irq_balance"),
    unsignedInt("netdev_budget_usecs", kU32Max),
    unsignedInt("netdev_budget_packets", kU32Max),
    unsignedInt("rx_usecs", kU32Max),
    unsignedInt("tx_usecs", kU32Max),
    boolean("disable_rxvlan"),
    boolean("disable_txvlan"),
    texts("disable_offload"),
};

constexpr std::array kBridge{
    boolean("use_xdp_bridge"),
    text("to_internet"),
    text("to_network"),
};

constexpr std::array kSingleInterface{
    text("interface"),
    vlan("internet_vlan"),
    vlan("network_vlan"),
};

constexpr std::array kQueues{
    text("default_sqm"),
    choice("queue_mode", kQueueModes),
    boolean("monitor_only"),
    bandwidth("uplink_bandwidth_mbps"),
    bandwidth("downlink_bandwidth_mbps"),
    bandwidth("generated_pn_download_mbps"),
    bandwidth("generated_pn_upload_mbps"),
    boolean("dry_run"),
    boolean("sudo"),
    unsignedInt("override_available_queues", kU16Max),
    boolean("use_binpacking"),
    choice("lazy_queues", kLazyQueues),
    unsignedInt("lazy_expire_seconds", kU32Max),
    unsignedInt("lazy_threshold_bytes"),
    bandwidth("fast_queues_fq_codel"),
};

constexpr std::array kLongTermStats{
    boolean("gather_stats"), unsignedInt("collation_period_seconds", kU32Max),
    text("license_key"),     unsignedInt("uisp_reporting_interval_seconds"),
    text("lts_url"),         boolean("use_insight"),
};

constexpr std::array kIpRanges{
    texts("ignore_subnets"),
    texts("allow_subnets"),
    boolean("unknown_ip_honors_ignore"),
    boolean("unknown_ip_honors_allow"),
};

constexpr std::array kFlows{
    unsignedInt("flow_timeout_seconds"),    boolean("netflow_enabled"),
    unsignedInt("netflow_port", kU16Max),   text("netflow_ip"),
    unsignedInt("netflow_version", kU8Max), texts("do_not_track_subnets"),
    // Sluice's additions (src/flowexport/Settings.h, docs/flows.md):
    texts("netflow_collectors"), unsignedInt("active_timeout_seconds", kU32Max),
    unsignedInt("template_refresh_seconds", kU32Max), unsignedInt("observation_domain_id", kU32Max),
};

constexpr std::array kIntegrationCommon{
    boolean("circuit_name_as_address"),
    boolean("always_overwrite_network_json"),
    unsignedInt("queue_refresh_interval_mins", kU32Max),
    boolean("use_mikrotik_ipv6"),
    texts("promote_to_root"),
    positive("client_bandwidth_multiplier"),
    boolean("ethernet_port_limits_enabled"),
    positive("ethernet_port_limit_multiplier"),
    anyTable("topology_attachment_health"),
};

// [splynx_integration]; the legacy spelling [spylnx_integration] / enable_spylnx is accepted too.
constexpr std::array kSplynx{
    boolean("enable_splynx"),
    boolean("enable_spylnx"),
    text("api_key"),
    text("api_secret"),
    text("url"),
    text("strategy"),  // compile mode; checked by integrations/IntegrationConfig.cpp
};

constexpr std::array kNetzur{
    boolean("enable_netzur"),
    text("api_key"),
    text("api_url"),
    unsignedInt("timeout_secs"),
};

constexpr std::array kVisp{
    boolean("enable_visp"), text("client_id"),
    text("client_secret"),  text("username"),
    text("password"),       text("token_url"),
    text("graphql_url"),    signedInt("isp_id"),
    signedInt("tenant_id"), text("online_users_domain"),
    text("strategy"),       unsignedInt("timeout_secs"),
    boolean("verify_tls"),  texts("service_type_allowlist"),
};

constexpr std::array kUisp{
    boolean("enable_uisp"),
    text("token"),
    text("url"),
    text("site"),
    text("strategy"),
    text("suspended_strategy"),
    number("airmax_capacity", 0),
    number("airmax_flexible_frame_download_ratio", 0),
    number("ltu_capacity", 0),
    texts("exclude_sites"),
    texts("squash_sites"),
    boolean("ipv6_with_mikrotik"),
    number("bandwidth_overhead_factor", 0),
    number("commit_bandwidth_multiplier", 0),
    anyArray("exception_cpes"),
    boolean("use_ptmp_as_parent"),
    boolean("ignore_calculated_capacity"),
    boolean("infrastructure_transport_caps_enabled"),
    boolean("insecure_ssl"),
    boolean("enable_squashing"),
    texts("do_not_squash_sites"),
};

// [topology]: the compile mode every integration's output is projected to (LibreQoS
// lqos_config topology.rs); the value is checked by integrations/IntegrationConfig.cpp.
constexpr std::array kTopology{text("compile_mode")};

constexpr std::array kPowercode{
    boolean("enable_powercode"),
    text("powercode_api_key"),
    text("powercode_api_url"),
};

constexpr std::array kSonar{
    boolean("enable_sonar"),
    text("sonar_api_url"),
    text("sonar_api_key"),
    text("snmp_community"),
    texts("airmax_model_ids"),
    texts("ltu_model_ids"),
    texts("active_status_ids"),
    anyArray("recurring_service_rates"),
    texts("recurring_excluded_service_names"),
};

constexpr std::array kInfluxDb{
    boolean("enable_influxdb"), text("url"), text("bucket"), text("org"), text("token"),
};

constexpr std::array kWispGate{
    boolean("enable_wispgate"),
    text("wispgate_api_token"),
    text("wispgate_api_url"),
};

constexpr std::array kUsageStats{boolean("send_anonymous"), text("anonymous_server")};

// Ranges from StormguardConfig::validate().
constexpr std::array kStormguard{
    boolean("enabled"),
    boolean("all_sites"),
    texts("targets"),
    texts("exclude_sites"),
    boolean("dry_run"),
    text("log_file"),
    choice("strategy", kStormguardStrategies),
    fraction("minimum_download_percentage"),
    fraction("minimum_upload_percentage"),
    KeySpec{.name = "increase_fast_multiplier",
            .kind = ValueKind::Number,
            .min = 1,
            .minExclusive = true},
    KeySpec{
        .name = "increase_multiplier", .kind = ValueKind::Number, .min = 1, .minExclusive = true},
    KeySpec{.name = "decrease_multiplier",
            .kind = ValueKind::Number,
            .min = 0,
            .max = 1,
            .maxExclusive = true},
    KeySpec{.name = "decrease_fast_multiplier",
            .kind = ValueKind::Number,
            .min = 0,
            .max = 1,
            .maxExclusive = true},
    positive("increase_fast_cooldown_seconds"),
    positive("increase_cooldown_seconds"),
    positive("decrease_cooldown_seconds"),
    positive("decrease_fast_cooldown_seconds"),
    boolean("circuit_fallback_enabled"),
    boolean("circuit_fallback_persist"),
    text("circuit_fallback_sqm"),
    positive("delay_threshold_ms"),
    KeySpec{
        .name = "delay_threshold_ratio", .kind = ValueKind::Number, .min = 1, .minExclusive = true},
    fraction("baseline_alpha_up"),
    fraction("baseline_alpha_down"),
    positive("probe_interval_seconds"),
    number("min_throughput_mbps_for_rtt", 0),
    text("active_ping_target"),
    positive("active_ping_interval_seconds"),
    KeySpec{.name = "active_ping_weight", .kind = ValueKind::Number, .min = 0, .max = 1},
    positive("active_ping_timeout_seconds"),
};

constexpr std::array kTreeguardCpu{
    choice("mode", kTreeguardCpuModes),
    unsignedInt("cpu_high_pct", 100),
    unsignedInt("cpu_low_pct", 100),
};

constexpr std::array kTreeguardLinks{
    boolean("enabled"),
    boolean("all_nodes"),
    texts("nodes"),
    number("idle_util_pct", 0, 100),
    unsignedInt("idle_min_minutes"),
    unsignedInt("rtt_missing_seconds"),
    number("unvirtualize_util_pct", 0, 100),
    unsignedInt("min_state_dwell_minutes"),
    unsignedInt("max_link_changes_per_hour", kU32Max),
    unsignedInt("reload_cooldown_minutes"),
    boolean("top_level_auto_virtualize"),
    number("top_level_safe_util_pct", 0, 100),
};

constexpr std::array kTreeguardCircuits{
    boolean("enabled"),
    boolean("all_circuits"),
    texts("circuits"),
    boolean("switching_enabled"),
    boolean("independent_directions"),
    number("idle_util_pct", 0, 100),
    unsignedInt("idle_min_minutes"),
    unsignedInt("rtt_missing_seconds"),
    number("upgrade_util_pct", 0, 100),
    unsignedInt("min_switch_dwell_minutes"),
    unsignedInt("max_switches_per_hour", kU32Max),
    boolean("persist_sqm_overrides"),
};

constexpr std::array kTreeguardQoo{boolean("enabled"), number("min_score", 0, 100)};

constexpr std::array kTreeguard{
    boolean("enabled"),
    boolean("dry_run"),
    unsignedInt("tick_seconds", kNoMax, 1),
    table("cpu", kTreeguardCpu),
    table("links", kTreeguardLinks),
    table("circuits", kTreeguardCircuits),
    table("qoo", kTreeguardQoo),
};

// [sync]: Sluice's own section: where network.json and ShapedDevices.csv come from.
constexpr std::array<std::string_view, 3> kSyncModes{"manual", "integration", "custom"};
constexpr std::array kSync{
    choice("mode", kSyncModes),
    texts("custom_command"),
    unsignedInt("timeout_seconds", kU32Max, 1),
    number("mass_change_threshold_percent", 0, 100),
};

constexpr std::array kSluice{
    text("network_json"),  text("shaped_devices_csv"), text("state_directory"),
    text("leaf_fallback"), text("control_socket"),     text("webserver_listen"),
    text("web_root"),      text("users_file"),         text("history_db"),
    unsignedInt("history_max_bytes"), boolean("metrics_per_circuit"),
    text("devices_overrides"), text("tls_certificate"), text("tls_private_key"),
    choice("xdp_metadata", kXdpMetadata), choice("queue_holder", kQueueHolders),
};

// [ha]: Sluice's own section (docs/ha.md).
// Sluice's per-subscriber packet captures (src/capture/Settings.h, docs/capture.md).
constexpr std::array kCapture{
    unsignedInt("max_concurrent", 64, 1), unsignedInt("retention_seconds", kU32Max),
    unsignedInt("max_seconds", 86400, 1), unsignedInt("default_snaplen", 262144, 64),
    unsignedInt("max_file_mbytes", 60, 1),
};

constexpr std::array<std::string_view, 2> kHaRoles{"primary", "backup"};
constexpr std::array<std::string_view, 2> kFailModes{"open", "closed"};
constexpr std::array kHa{
    choice("role", kHaRoles),
    choice("fail_mode", kFailModes),
    anyArray("drain_command"),
    anyArray("restore_command"),
    unsignedInt("hook_timeout_seconds", kU32Max, 1),
    unsignedInt("hold_down_seconds", kU32Max),
    unsignedInt("start_grace_seconds", kU32Max),
    unsignedInt("max_input_age_seconds", kU32Max),
    text("peer"),
    text("drill_record"),
};

// RADIUS (src/radius/Settings.h, docs/radius.md): LibreQoS's [radius_accounting] and
// [dynamic_circuits], and Sluice's [radius] that overrides them key by key.
constexpr std::array kRadiusSpeed{
    positive("download_min_mbps"), positive("upload_min_mbps"),
    positive("download_max_mbps"), positive("upload_max_mbps"),
};
constexpr std::array kRadiusApplication{
    boolean("enabled"),
    boolean("match_shaped_devices_by_mac"),
    boolean("match_shaped_devices_by_username"),
    text("fallback_parent_node"),
    text("fallback_parent_node_id"),
    text("fallback_anchor_node_id"),
};
constexpr std::array kRadiusAccounting{
    boolean("enabled"),
    text("listen"),
    unsignedInt("default_ttl_seconds", kNoMax, 1),
    unsignedInt("stale_grace_seconds", kNoMax, 1),
    anyArray("clients"),
    table("fallback_speed_profile", kRadiusSpeed),
    table("dynamic_circuit_application", kRadiusApplication),
};
constexpr std::array kDynamicCircuits{
    boolean("enabled"),
    unsignedInt("ttl_seconds", kNoMax, 1),
    boolean("enable_unknown_ip_promotion"),
    anyArray("ranges"),
};
constexpr std::array kRadius{
    boolean("enabled"),
    text("listen"),
    unsignedInt("accounting_port", kU16Max, 1),
    boolean("coa_enabled"),
    unsignedInt("coa_port", kU16Max, 1),
    unsignedInt("session_ttl_seconds", kNoMax, 1),
    unsignedInt("stale_grace_seconds", kNoMax, 1),
    unsignedInt("event_timestamp_window_seconds", kNoMax, 1),
    unsignedInt("duplicate_window_seconds"),
    boolean("require_event_timestamp"),
    boolean("require_message_authenticator"),
    boolean("mikrotik_rx_is_download"),
    boolean("match_shaped_devices_by_mac"),
    boolean("match_shaped_devices_by_username"),
    text("fallback_parent_node"),
    number("min_rate_percent", 0, 100),
    unsignedInt("batch_window_ms", 10000),
    text("sessions_file"),
    anyArray("clients"),
    anyArray("parents"),
    table("fallback_speed_profile", kRadiusSpeed),
};

constexpr std::array kRoot{
    text("version"),
    text("lqos_directory"),
    text("node_id"),
    text("node_name"),
    text("qoo_profile_id"),
    unsignedInt("packet_capture_time", kU32Max),
    unsignedInt("queue_check_period_ms"),
    boolean("disable_webserver"),
    text("webserver_listen"),
    boolean("disable_icmp_ping"),
    boolean("enable_circuit_heatmaps"),
    boolean("enable_site_heatmaps"),
    boolean("enable_asn_heatmaps"),
    table("tuning", kTuning),
    table("bridge", kBridge),
    table("single_interface", kSingleInterface),
    table("queues", kQueues),
    table("long_term_stats", kLongTermStats),
    table("ip_ranges", kIpRanges),
    table("flows", kFlows),
    table("integration_common", kIntegrationCommon),
    table("splynx_integration", kSplynx),
    table("spylnx_integration", kSplynx),
    table("netzur_integration", kNetzur),
    table("visp_integration", kVisp),
    table("uisp_integration", kUisp),
    table("topology", kTopology),
    table("powercode_integration", kPowercode),
    table("sonar_integration", kSonar),
    table("influxdb", kInfluxDb),
    table("wispgate_integration", kWispGate),
    table("usage_stats", kUsageStats),
    table("stormguard", kStormguard),
    table("treeguard", kTreeguard),
    table("sluice", kSluice),
    table("ha", kHa),
    table("capture", kCapture),
    table("sync", kSync),
    table("radius_accounting", kRadiusAccounting),
    table("dynamic_circuits", kDynamicCircuits),
    table("radius", kRadius),
};

}  // namespace

std::span<const KeySpec> lqosRootSchema() {
  return kRoot;
}

}  // namespace sluice::config::detail
