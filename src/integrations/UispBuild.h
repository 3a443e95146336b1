#pragma once
// UISP data -> the shaping files: names, the infrastructure tree (UispTopology.h), one circuit
// per client site, then the shared graph (Graph.h). Pure: no HTTP, so the tests feed it parsed
// fixtures directly. Facts: LibreQoS uisp_integration (reference §1.2).

#include <string>
#include <unordered_map>

#include "common/Error.h"
#include "integrations/Graph.h"
#include "integrations/IntegrationConfig.h"
#include "integrations/UispData.h"

namespace sluice::integrations::uisp {

/// The export name of every site (by id): a client site's "Last, First" turned around
/// (normaliseClientName), an empty name replaced by the id; a name already taken by an earlier
/// site gets the first free suffix of " (<first part of its address>)", " (<UCRM service
/// name>)", " (<first 8 characters of its id>)", " (<id>)".
std::unordered_map<std::string, std::string> siteExportNames(const Data& data);

/// The export name of every device (by id): its hostname (its id when empty); a name taken by
/// a site or an earlier device gets " (<first 8 characters of its id>)", else " (<id>)".
std::unordered_map<std::string, std::string> deviceExportNames(
    const Data& data, const std::unordered_map<std::string, std::string>& siteNames);

/// Builds the shaping files from UISP's three answers: the tree of buildTopology() (its root
/// site a top-level virtual node), one Client per client site under its AP (or Orphans), one
/// Device per UISP device of that site (ipAddress as a host, interface CIDRs as prefixes when
/// they are network addresses, else hosts; the slowest wired port as its Ethernet speed). `graph` comes from
/// commonGraphOptions(); the UISP-only rules are added here: exclude_sites (the sites, their
/// devices, and graph nodes of those names), exception_cpes (a CPE's circuit moved under the
/// named site or device, by id or name), rates floored at 0.1 Mbps.
///
/// Circuit rates per client site and direction (full2.rs): with a UISP plan (qos speed > 0),
/// min = speed × commit_bandwidth_multiplier and max = (speed + burst) × bandwidth_overhead_
/// factor, burst = burstSize × 8 / 1000 / 1024 Mbps (LibreQoS's code; its docs omit the /1024);
/// without one, max = the generated rate × overhead and min = max × commit (with a warning:
/// LibreQoS does this silently). Suspended clients: suspended_strategy none = as above, ignore
/// = no circuit, slow = 0.1 Mbps min and max.
///
/// Errors: EBADMSG when UISP lists devices but no sites (an answer that cannot be right);
/// buildTopology()'s root errors; Graph errors.
Result<ShapingFiles> buildUispFiles(const Data& data, const UispConfig& uisp, GraphOptions graph,
                                    CompileMode mode);

}  // namespace sluice::integrations::uisp
