#pragma once
// The one interface every CRM/NMS integration (UISP, Splynx, Sonar) implements, and what the
// daemon's sync scheduler calls. An integration fetches its vendor's data, builds the network
// graph (integrations/Graph.h) and emits the classic LibreQoS input pair as text; the scheduler
// validates that pair with the ordinary model reader and applies it through the bakery as a diff.
// An integration never writes files and never touches the shaper itself.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "config/Config.h"

namespace sluice::integrations {

class HttpClient;

/// The shaping inputs an integration produced: the same formats the operator would write by hand.
struct ShapingFiles {
  std::string networkJson;       ///< network.json (an object keyed by node name; "{}" = flat)
  std::string shapedDevicesCsv;  ///< ShapedDevices.csv with LibreQoS's current 15-column header
  /// What the build dropped or guessed, one sentence each ("device 'x' of client 'y' has no
  /// address in allow_subnets: dropped"); shown by `sluice integration run` and in the API.
  std::vector<std::string> warnings;
  size_t circuits = 0;  ///< circuits in shapedDevicesCsv
  size_t nodes = 0;     ///< nodes in networkJson (all levels)
};

class Integration {
 public:
  virtual ~Integration() = default;
  /// "uisp", "splynx" or "sonar": the name shown in status and recorded as circuit ownership.
  virtual std::string_view name() const = 0;
  /// Fetches everything from the vendor and builds the files. All or nothing: any HTTP error,
  /// timeout, malformed or truncated body, or an answer that cannot be right (an empty customer
  /// list where the vendor returned an error page) is an error naming the URL and the cause,
  /// and no partial ShapingFiles is returned.
  virtual Result<ShapingFiles> build() = 0;
};

/// The integration enabled in `config` (enable_uisp, enable_splynx, enable_sonar: the first one
/// in that order, as LibreQoS's scheduler chooses), sharing `http` for its requests; nullptr when
/// none is enabled. Errors: EINVAL when the enabled one's section is unusable (missing url or
/// token), naming the key.
Result<std::unique_ptr<Integration>> makeEnabledIntegration(const config::Config& config,
                                                            std::shared_ptr<HttpClient> http);

}  // namespace sluice::integrations
