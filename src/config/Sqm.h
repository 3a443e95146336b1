#pragma once
// LibreQoS-style leaf qdisc text ("default_sqm", the `sqm` column of ShapedDevices.csv) turned
// into a plan::LeafSpec. The text is what LibreQoS appends to `tc qdisc add ... ` — a qdisc kind
// followed by tc options — so the grammar below follows iproute2's tc-cake(8), tc-fq_codel(8) and
// tc-pfifo(8); only options that plan::LeafSpec can carry are accepted, so nothing the operator
// wrote is silently dropped.
//
//   cake     [besteffort|diffserv3|diffserv4|diffserv8|precedence]
//            [rtt TIME | datacentre|lan|metro|regional|internet|oceanic|satellite|interplanetary]
//            [bandwidth RATE | unlimited] [ack-filter|no-ack-filter] [nat|nonat] [wash|nowash]
//            [split-gso|no-split-gso] [overhead BYTES] [mpu BYTES] [memlimit SIZE]
//            [triple-isolate]                                   (CAKE's default flow isolation)
//   fq_codel [limit PACKETS] [flows N] [target TIME] [interval TIME] [quantum BYTES]
//            [memory_limit SIZE] [ecn|noecn]
//   pfifo    [limit PACKETS]
//   bfifo    [limit BYTES]
//   none                                                        (no leaf qdisc)
//
// TIME: a number with us/usec/ms/msec/s/sec (no unit = microseconds, as tc). RATE: a number with
// bit/kbit/mbit/gbit/tbit or bps/kbps/mbps/gbps/tbps (bytes per second; k = 1000, as tc), no unit =
// bits per second. SIZE: bytes with optional b/k/kb/m/mb/g/gb suffix (k = 1024, as tc).
// Keywords are matched case-insensitively. A plain `cake` is diffserv3, CAKE's own default.

#include <optional>
#include <string_view>

#include "common/Diagnostics.h"
#include "planner/QueuePlan.h"

namespace sluice::config {

/// Parses leaf qdisc text (grammar above) into a LeafSpec with handleMajor 0.
///
/// `where` locates the text in its file and `what` names it (e.g. "queues.default_sqm"); both are
/// only used in diagnostics. Returns nullopt and adds one error with category "invalid-sqm" per
/// problem: empty text, an unknown qdisc kind or token (the message names the token), a missing or
/// malformed argument, a value out of range, or a CAKE/fq_codel option that tc knows but Sluice
/// cannot carry (named as unsupported).
std::optional<plan::LeafSpec> parseSqmText(std::string_view text, const SourceLocation& where,
                                           std::string_view what, Diagnostics& diags);

}  // namespace sluice::config
