#pragma once
// The cross-file checks behind model::validateModel (model/Inputs.h), one function per rule so
// that integrations producing a Model without files can run the same checks.

#include "common/Diagnostics.h"
#include "config/Config.h"
#include "model/Model.h"

namespace sluice::model {

/// Duplicate addresses and overlapping prefixes across circuits, in O(n log n) over all addresses
/// (sort, then one sweep with a stack of enclosing prefixes). Errors: "duplicate-address" (same
/// address or prefix in two circuits) and "overlapping-cidr" (one contains the other); each is
/// reported at the later of the two in file order and its message names the other's
/// file:line:column and circuit. The same address twice within one circuit is only a warning
/// ("duplicate-address"); prefixes of one circuit may nest freely.
void checkAddresses(const ShapedDevices& shaped, Diagnostics& diags);

/// Resolves each circuit's Parent Node against the network. "none" (any case; LibreQoS's word for
/// no parent) becomes empty unless a node has that name. With a flat network (`{}`) parents are
/// ignored with a "parent-ignored" warning and cleared, as LibreQoS does in flat mode. Otherwise a
/// parent that names no node is an "unknown-parent" error at the Parent Node cell. Skipped when
/// `network.complete` is false (a broken network.json would make every parent unknown).
void resolveParents(ShapedDevices& shaped, const Network& network, Diagnostics& diags);

/// Recomputes Node::depth (0 for roots) from the parent/children links and checks that the links
/// form a forest: a node that is not reachable from the roots, or whose children list disagrees
/// with its parent index, is a "bad-node-link" error (only possible for models not read from a
/// file).
void computeDepths(Network& network, Diagnostics& diags);

/// `[ip_ranges]` as LibreQoS's integrations apply it: an IPv4 address is taken only when it lies
/// in some allow_subnets prefix and in no ignore_subnets prefix. ShapedDevices.csv is shaped as
/// written (LibreQoS does not filter it either), so such addresses are warnings:
/// "address-ignored" (inside ignore_subnets) and "address-not-allowed" (outside every
/// allow_subnets prefix of its family, checked only when the list has one of that family). The
/// first kMaxIpRangeWarnings of each are listed, then one summary with the count. Unparseable
/// subnets are skipped here (the config loader reports them).
void checkIpRanges(const ShapedDevices& shaped, const config::IpRangesConfig& ranges,
                   Diagnostics& diags);

inline constexpr size_t kMaxIpRangeWarnings = 10;

}  // namespace sluice::model
