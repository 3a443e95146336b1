#pragma once
// From a RADIUS session to a dynamic circuit (model::Circuit for the overlay, model/Overlay.h), or
// to the reason it cannot be one yet. Pure logic: the operator's inputs come in, a decision goes
// out. Nothing is guessed: a session without rates, parent or address stays pending with why.
//
// Rates, first that applies:
//   1. the session's own (MikroTik-Rate-Limit or WISPr, or a CoA's): ceil = the rate, HTB rate =
//      ceil * min_rate_percent / 100;
//   2. a matched ShapedDevices circuit (not a dynamic one): its four rates. Matching, when
//      enabled: by MAC (the User-Name when it reads as a MAC, then Calling-Station-Id, against
//      each device's MAC; separators and case ignored), then by user name (User-Name against
//      Circuit ID, then Circuit Name). Several circuits matching is "ambiguous-match";
//   3. the rates of the first [dynamic_circuits] range holding one of the session's addresses;
//   4. the fallback speed profile; else pending "missing-rate".
// Parent node, first that applies: the parent rules in order (NAS identity, the VLAN read from
// NAS-Port-Id, address range); the matched circuit's parent; fallback_parent_node; in a flat
// network (network.json {}) no parent (the generated parent nodes); else pending
// "missing-parent". A parent not in network.json is pending "unknown-parent".

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/Model.h"
#include "radius/Sessions.h"
#include "radius/Settings.h"

namespace sluice::radius {

/// The dynamic circuits' source file name (model::Circuit::where): tells them from the operator's.
inline constexpr const char* kRadiusSource = "radius";

/// "aa:bb:cc:dd:ee:ff" for a MAC written with ':' '-' '.' or no separators in any case; nullopt
/// when `text` is not 12 hex digits after removing separators.
std::optional<std::string> normalizeMac(const std::string& text);

/// The VLAN a NAS-Port-Id carries: the number after the last ':' or '.', or after "vlan"
/// (case-insensitive), 1..4094 ("ether1:100" -> 100, "vlan200" -> 200, "0/1/0/7:100.200" -> 200,
/// the inner tag of QinQ); nullopt when there is none.
std::optional<uint32_t> vlanFromNasPortId(const std::string& text);

/// Indexes of the operator's circuits (dynamic ones skipped) by MAC and by ID/name.
class ShapedIndex {
 public:
  explicit ShapedIndex(const model::ShapedDevices& shaped);
  /// Circuit indices (into shaped.circuits) whose devices carry `mac` (normalized).
  const std::vector<size_t>* byMac(const std::string& mac) const;
  /// Circuit indices whose Circuit ID equals `name`, else whose Circuit Name does.
  std::vector<size_t> byUserName(const std::string& name) const;

 private:
  const model::ShapedDevices& shaped_;
  std::unordered_map<std::string, std::vector<size_t>> mac_, id_, name_;
};

struct MappedSession {
  std::optional<model::Circuit> circuit;  ///< set when the session can be a circuit
  std::string pending;                    ///< the reason when not: "missing-rate", ...
  std::string detail;                     ///< the reason in words (for the API and logs)
  std::string rateSource;    ///< "MikroTik-Rate-Limit", "shaped-devices:<id>", "range:<name>",
                             ///< "fallback-profile"
  std::string parentSource;  ///< "rule:<describe>", "shaped-devices:<id>", "fallback", "flat"
};

/// Maps one session. `model` is the operator's inputs (dynamic circuits are ignored).
MappedSession mapSession(const Session& session, const RadiusSettings& settings,
                         const model::Model& model, const ShapedIndex& index);

}  // namespace sluice::radius
