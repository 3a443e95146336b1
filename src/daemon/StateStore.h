#pragma once
// The daemon's state directory: the last inputs that were valid and applied ("last good"), so a
// restart with broken files still comes up shaping what it shaped before.
//
//   <stateDir>/last-good/lqos.conf
//   <stateDir>/last-good/network.json
//   <stateDir>/last-good/ShapedDevices.csv
//   <stateDir>/last-good/devices-overrides.csv   (only when [sluice] devices_overrides is set and
//                                                 the file existed: a missing file is empty)

#include <string>

#include "common/Error.h"
#include "model/Inputs.h"

namespace sluice::daemon {

class StateStore {
 public:
  explicit StateStore(std::string stateDir) : dir_(std::move(stateDir)) {}

  /// Copies the input files named by `resolved` (the paths actually loaded; `overrides` is the
  /// resolved devices_overrides file or "" when none is configured) into
  /// last-good/, each written to a temporary file, fsynced and renamed, so a crash never leaves a
  /// half-written copy. lqos.conf is copied as written: lastGoodPaths() names the copied
  /// network.json and ShapedDevices.csv explicitly, so the config's own paths are not used when
  /// the copies are loaded. Errors: the failing file operation with its path.
  Result<void> saveLastGood(const model::InputPaths& resolved) const;

  /// True when all three last-good files exist.
  bool hasLastGood() const;

  /// Paths of the last-good copies, to pass to model::loadInputs.
  model::InputPaths lastGoodPaths() const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace sluice::daemon
