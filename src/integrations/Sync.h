#pragma once
// The sync: how an integration's (or a custom pipeline's) output becomes the shaper's inputs.
//
//   produce  -> staging/{network.json,ShapedDevices.csv}   (integration build, or the operator's
//               command run without a shell under a timeout)
//   validate -> model::loadInputs on the staged pair       (any error: nothing is applied)
//   compare  -> SyncChanges against the inputs in force    (empty: nothing is written)
//   guard    -> removing or re-parenting more than the threshold share of circuits is held until
//               `sluice integration approve` (an API glitch must not unshape a network)
//   install  -> the staged files replace the operator's input files atomically, then the daemon's
//               reload applies them through the bakery as a diff; a failed reload puts the
//               previous files back, so the disk again says what the kernel does.
//
// Every step's failure leaves the running shaper and its input files exactly as they were, and
// the outcome names the cause (shown in status and raised as an urgent issue by the daemon).

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "config/Config.h"
#include "integrations/ChangeSummary.h"
#include "model/Inputs.h"

namespace sluice::integrations {

class HttpClient;

/// Where network.json and ShapedDevices.csv come from (`[sync] mode`).
enum class InputMode {
  Manual,       ///< the operator edits the files (or the API does); no sync
  Integration,  ///< the enabled CRM/NMS integration writes them on the schedule
  Custom,       ///< `[sync] custom_command` writes them to the staging directory on the schedule
};
std::string_view inputModeName(InputMode mode);

struct SyncSettings {
  InputMode mode = InputMode::Manual;
  /// The enabled integration's name ("uisp", "splynx", "sonar"), "" when none is enabled.
  std::string integration;
  std::vector<std::string> customCommand;  ///< argv; {staging} in an argument = the directory
  /// [integration_common] queue_refresh_interval_mins (default 30, as LibreQoS).
  std::chrono::seconds interval{30 * 60};
  std::chrono::seconds timeout{300};  ///< [sync] timeout_seconds: the whole produce step
  /// [sync] mass_change_threshold_percent / 100 (default 10 %).
  double massChangeShare = 0.10;
};

/// Reads `[sync]` and the integration sections of `config`. Without `[sync] mode` the mode is
/// "integration" when an integration is enabled (enable_uisp, enable_splynx/enable_spylnx,
/// enable_sonar), else "manual". Errors (EINVAL, naming the key): mode "integration" with no
/// integration enabled, mode "custom" with an empty custom_command.
Result<SyncSettings> syncSettings(const config::Config& config);

struct SyncOutcome {
  enum class Kind { Applied, Unchanged, Held, Failed, DryRun };
  Kind kind = Kind::Failed;
  std::string source;   ///< "uisp", "custom: /usr/local/bin/export", ...
  std::string message;  ///< the cause of a failure or hold; the reload's message when applied
  SyncChanges changes;
  std::vector<std::string> warnings;  ///< what the integration dropped or guessed
  std::chrono::system_clock::time_point started;
  double durationMs = 0;

  nlohmann::json toJson() const;
};
std::string_view outcomeName(SyncOutcome::Kind kind);

/// What the daemon provides to the sync.
struct SyncHost {
  /// The daemon's lqos.conf (produced pairs are validated with it, as a reload would).
  std::string configPath;
  /// The inputs the running shaper implements (never null once the daemon has started).
  std::function<std::shared_ptr<const model::Inputs>()> inputsInForce;
  /// Re-reads the operator's input files and applies them through the bakery; an error carries
  /// the reason the reload refused or failed (the shaper then keeps its previous state).
  std::function<Result<void>()> reload;
};

class SyncRunner {
 public:
  /// `stateDirectory`/sync holds staging/ (the last produced pair) and held/ (a pair waiting for
  /// approval). `http` is shared by every integration run.
  SyncRunner(SyncHost host, std::string stateDirectory, std::shared_ptr<HttpClient> http);

  /// One sync now (serialized with other calls). dryRun: produce, validate and compare only.
  SyncOutcome run(bool dryRun);
  /// Installs the held pair (validated again against the inputs now in force, without the
  /// guard). Failed outcome with "nothing is held" when there is none.
  SyncOutcome approve();
  /// {mode, integration, interval_s, last: outcome, pending: held changes or null, runs}
  nlohmann::json status() const;
  /// The settings of the inputs in force (mode, schedule); errors as syncSettings().
  Result<SyncSettings> settings() const;

 private:
  /// Runs the integration or the custom command into staging/ and validates the pair there.
  Result<model::Inputs> produce(const SyncSettings& settings, const model::Inputs& inForce,
                                SyncOutcome& outcome);
  /// model::loadInputs of dir/network.json and dir/ShapedDevices.csv with the daemon's config;
  /// EINVAL listing the first errors when invalid.
  Result<model::Inputs> validate(const std::string& dir) const;
  /// Replaces the operator's files by dir's pair and reloads (see the header comment).
  SyncOutcome install(const std::string& fromDir, const model::Inputs& inForce,
                      SyncOutcome outcome);
  /// Replaces the held sync (under stateMutex_).
  void setHeld(std::optional<SyncOutcome> held);
  /// Stamps the duration, records the outcome (dry runs aside) and logs it.
  SyncOutcome finish(SyncOutcome& outcome, std::chrono::steady_clock::time_point started);

  SyncHost host_;
  std::string dir_;
  std::shared_ptr<HttpClient> http_;
  std::mutex runMutex_;  ///< serializes run() and approve() (held for a whole sync)
  /// Guards the fields below; held only briefly, so status() never waits for a sync.
  mutable std::mutex stateMutex_;
  std::optional<SyncOutcome> last_;
  std::optional<SyncOutcome> held_;
  uint64_t runs_ = 0;
};

}  // namespace sluice::integrations
