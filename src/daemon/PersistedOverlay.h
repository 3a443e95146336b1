#pragma once
// The modules' persisted overlay entries at a start of sluiced (docs/daemon.md, "The overlay"):
// loader() is the Shaper's start overlay (Shaper::setStartOverlay). It asks RADIUS (saved
// sessions), StormGuard (adjustments) and TreeGuard (its state file) for their entries, each
// checked against the start's own inputs and plan with the rules of its replay, so the first
// plan the shaper applies already carries them; it keeps what each module prepared, and
// OperatorServices hands each service its part (adopt()) when it creates them. A module whose
// loading fails (an exception) is logged and adds nothing; the others still load. A module's
// unreadable state file is that module's to report (logged, and in its status as without this
// step).

#include <string>

#include "daemon/RadiusService.h"
#include "daemon/Shaper.h"
#include "daemon/StormGuardService.h"
#include "daemon/TreeGuardService.h"
#include "model/Overlay.h"

namespace sluice::daemon {

class PersistedOverlay {
 public:
  /// `configPath`: the lqos.conf sluiced runs on (RADIUS reads its secret files relative to it).
  explicit PersistedOverlay(std::string configPath) : configPath_(std::move(configPath)) {}

  /// Loads every module's entries into `overlay` (see the header comment); called by
  /// Shaper::start() through loader().
  void load(const Shaper::StartContext& context, model::Overlay& overlay);
  /// The Shaper::StartOverlay that calls load(); this object must outlive Shaper::start().
  Shaper::StartOverlay loader() {
    return [this](const Shaper::StartContext& c, model::Overlay& o) { load(c, o); };
  }

  /// What load() prepared for each service (empty before load() or after a take).
  RadiusService::Restored takeRadius() { return std::move(radius_); }
  StormGuardService::Restored takeStormGuard() { return std::move(stormguard_); }
  TreeGuardService::Restored takeTreeGuard() { return std::move(treeguard_); }

 private:
  std::string configPath_;
  RadiusService::Restored radius_;
  StormGuardService::Restored stormguard_;
  TreeGuardService::Restored treeguard_;
};

}  // namespace sluice::daemon
