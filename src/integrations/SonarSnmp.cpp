#include "integrations/SonarSnmp.h"

// net-snmp's headers must come in this order (net-snmp-config.h first).
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace sluice::integrations {
namespace {

// net-snmp's own log (at start-up it reports every default MIB module it cannot find; Sluice
// uses numeric OIDs only) goes to the project's logger at debug level: every failure that
// matters comes back from walk() as an Error.
int forwardLog(int /*major*/, int /*minor*/, void* serverArg, void* /*clientArg*/) {
  const auto* message = static_cast<const snmp_log_message*>(serverArg);
  if (message != nullptr && message->msg != nullptr) {
    std::string_view text(message->msg);
    while (!text.empty() && text.back() == '\n') {
      text.remove_suffix(1);
    }
    spdlog::debug("net-snmp: {}", text);
  }
  return 0;
}

void initNetSnmpOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    snmp_disable_log();
    netsnmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, &forwardLog, nullptr,
                              NETSNMP_CALLBACK_DEFAULT_PRIORITY);
    netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_DEBUG);
    // No snmp.conf files and no MIB parsing: every OID here is numeric.
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_ERRORS, 0);
    netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
    netsnmp_set_mib_directory("");
    init_snmp("sluice");
  });
}

// ".1.3.6.1" -> {1, 3, 6, 1}; empty on malformed text.
std::vector<oid> parseOid(std::string_view text) {
  std::vector<oid> out;
  if (!text.empty() && text.front() == '.') {
    text.remove_prefix(1);
  }
  while (!text.empty()) {
    size_t dot = text.find('.');
    std::string_view part = text.substr(0, dot);
    if (part.empty() || part.size() > 10 ||
        !std::ranges::all_of(part, [](char c) { return c >= '0' && c <= '9'; })) {
      return {};
    }
    out.push_back(static_cast<oid>(std::stoull(std::string(part))));
    text = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  }
  return out;
}

std::string oidText(const oid* name, size_t length) {
  std::string out;
  for (size_t i = 0; i < length; ++i) {
    out += fmt::format(".{}", name[i]);
  }
  return out;
}

SnmpVar toVar(const netsnmp_variable_list* var) {
  SnmpVar out;
  out.oid = oidText(var->name, var->name_length);
  switch (var->type) {
    case ASN_OCTET_STR:
      out.octets = true;
      out.value.assign(reinterpret_cast<const char*>(var->val.string), var->val_len);
      break;
    case ASN_INTEGER:
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
      out.value = fmt::format("{}", *var->val.integer);
      break;
    case ASN_OBJECT_ID:
      out.value = oidText(var->val.objid, var->val_len / sizeof(oid));
      break;
    default: {
      char text[512];
      snprint_value(text, sizeof(text), var->name, var->name_length, var);
      out.value = text;
    }
  }
  return out;
}

using SessionHandle = std::unique_ptr<void, decltype(&snmp_sess_close)>;

}  // namespace

NetSnmpWalker::NetSnmpWalker(SnmpOptions options) : options_(options) { initNetSnmpOnce(); }

Result<std::vector<SnmpVar>> NetSnmpWalker::walk(const std::string& agent,
                                                 const std::string& community,
                                                 std::string_view rootOid) {
  const std::string context = fmt::format("SNMP walk {} at {}", rootOid, agent);
  const std::vector<oid> root = parseOid(rootOid);
  if (root.empty()) {
    return makeError(EINVAL, context, "not a numeric OID");
  }
  netsnmp_session settings;
  snmp_sess_init(&settings);
  std::string peer = agent;
  std::string communityCopy = community;
  settings.peername = peer.data();
  settings.version = options_.version == 1 ? SNMP_VERSION_2c : SNMP_VERSION_1;
  settings.community = reinterpret_cast<u_char*>(communityCopy.data());
  settings.community_len = communityCopy.size();
  settings.timeout = options_.timeoutMs * 1000;  // microseconds
  settings.retries = options_.retries;
  SessionHandle session(snmp_sess_open(&settings), &snmp_sess_close);
  if (!session) {
    return makeError(EIO, context, "cannot open a session (bad agent address?)");
  }
  std::vector<SnmpVar> out;
  std::vector<oid> name = root;
  while (out.size() < options_.maxVariables) {
    netsnmp_pdu* request = snmp_pdu_create(SNMP_MSG_GETNEXT);
    snmp_add_null_var(request, name.data(), name.size());
    netsnmp_pdu* response = nullptr;
    const int status = snmp_sess_synch_response(session.get(), request, &response);
    std::unique_ptr<netsnmp_pdu, decltype(&snmp_free_pdu)> owned(response, &snmp_free_pdu);
    if (status == STAT_TIMEOUT) {
      return makeError(ETIMEDOUT, context,
                       fmt::format("no answer within {} ms × {} tries", options_.timeoutMs,
                                   options_.retries + 1));
    }
    if (status != STAT_SUCCESS || response == nullptr) {
      char* text = nullptr;
      snmp_sess_error(session.get(), nullptr, nullptr, &text);
      std::string detail = text != nullptr ? text : "request failed";
      free(text);  // NOLINT: allocated by net-snmp
      return makeError(EIO, context, detail);
    }
    if (response->errstat == SNMP_ERR_NOSUCHNAME) {
      return out;  // v1's end of the MIB
    }
    if (response->errstat != SNMP_ERR_NOERROR) {
      return makeError(EIO, context, snmp_errstring(static_cast<int>(response->errstat)));
    }
    const netsnmp_variable_list* var = response->variables;
    if (var == nullptr || var->type == SNMP_ENDOFMIBVIEW || var->type == SNMP_NOSUCHOBJECT ||
        var->type == SNMP_NOSUCHINSTANCE ||
        netsnmp_oid_is_subtree(root.data(), root.size(), var->name, var->name_length) != 0) {
      return out;
    }
    if (snmp_oid_compare(var->name, var->name_length, name.data(), name.size()) <= 0) {
      return makeError(EPROTO, context,
                       fmt::format("the agent answered {} after {}: not increasing",
                                   oidText(var->name, var->name_length),
                                   oidText(name.data(), name.size())));
    }
    out.push_back(toVar(var));
    name.assign(var->name, var->name + var->name_length);
  }
  return makeError(EIO, context, fmt::format("more than {} variables", options_.maxVariables));
}

std::string normalizeMac(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (c != ':' && c != '-' && c != ' ' && c != '.') {
      return {};
    }
  }
  if (hex.size() != 12) {
    return {};
  }
  std::string out;
  for (size_t i = 0; i < 12; i += 2) {
    out += (i == 0 ? "" : ":") + hex.substr(i, 2);
  }
  return out;
}

std::vector<std::string> stationMacs(const std::vector<SnmpVar>& walk) {
  std::vector<std::string> out;
  for (const auto& var : walk) {
    std::string mac;
    if (var.octets && var.value.size() == 6) {  // a MacAddress (RFC 2579): six raw bytes
      for (unsigned char c : var.value) {
        mac += fmt::format("{}{:02x}", mac.empty() ? "" : ":", c);
      }
    } else {
      mac = normalizeMac(var.value);
    }
    if (!mac.empty()) {
      out.push_back(std::move(mac));
    }
  }
  return out;
}

namespace {

ApPoll pollOne(SnmpWalker& walker, const SonarAccessPoint& ap, const std::string& community,
               const std::vector<std::string>& airmax, const std::vector<std::string>& ltu) {
  ApPoll poll;
  std::string_view table;
  if (std::ranges::find(airmax, ap.modelId) != airmax.end()) {
    table = kAirMaxStationMacOid;
  } else if (std::ranges::find(ltu, ap.modelId) != ltu.end()) {
    table = kLtuStationMacOid;
  } else {
    poll.error = fmt::format("model {} is in neither airmax_model_ids nor ltu_model_ids",
                             ap.modelId);
    return poll;
  }
  auto stations = walker.walk(ap.ip, community, table);
  if (!stations) {
    const Error& e = stations.error();
    poll.error = fmt::format("SNMP walk of {}: {}", table, std::strerror(e.errnum));
    if (!e.detail.empty()) {
      poll.error += " (" + e.detail + ")";
    }
    return poll;
  }
  poll.cpeMacs = stationMacs(*stations);
  if (!poll.cpeMacs.empty()) {
    if (auto name = walker.walk(ap.ip, community, kSysNameOid); name && !name->empty()) {
      poll.name = name->front().value;
    }
  }
  return poll;
}

}  // namespace

std::vector<ApPoll> pollAccessPoints(SnmpWalker& walker, const std::vector<SonarAccessPoint>& aps,
                                     const std::string& community,
                                     const std::vector<std::string>& airmaxModelIds,
                                     const std::vector<std::string>& ltuModelIds,
                                     size_t threads) {
  std::vector<ApPoll> out(aps.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < aps.size(); i = next++) {
      out[i] = pollOne(walker, aps[i], community, airmaxModelIds, ltuModelIds);
    }
  };
  std::vector<std::jthread> pool;
  const size_t count = std::min(std::max<size_t>(1, threads), aps.size());
  for (size_t t = 1; t < count; ++t) {
    pool.emplace_back(work);
  }
  work();
  pool.clear();  // joins: every poll has finished writing before `out` is returned
  return out;
}

}  // namespace sluice::integrations
