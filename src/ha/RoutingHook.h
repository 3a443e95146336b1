#pragma once
// The routing hook ([ha] drain_command / restore_command, docs/ha.md): when this shaper loses
// readiness, run the operator's command that makes the routers prefer the other path (raise the
// OSPF cost of the transit interfaces through vtysh, withdraw a BGP announcement, ...); once it
// has been ready again for a whole hold-down, run the restore command. Commands are argv vectors
// run without a shell, each bounded by a timeout (the child's process group is killed then).
//
// States (the routers' preference as far as this hook knows):
//
//            unready (after the start grace)            ready for hold_down
//   Unknown ─────────────────────────────────► Drained ◄──────────────────── Preferred
//      │                                        │  ▲          unready            ▲
//      │ ready for hold_down                    │  └─────────────────────────────┘│
//      └────────────────────────────────────────┴──────────────────────────────────┘
//                                        restore ran (ready for hold_down)
//
// - Drain runs as soon as readiness is lost (no delay: failover speed is what HA is for), except
//   while the daemon is still starting within `startGrace` of the hook's creation: a restart that
//   adopts a running data plane (SIGKILL, upgrade) must not move traffic.
// - Restore runs only after readiness held for `holdDown` without a break; a loss within the
//   hold-down starts it again. So a shaper whose readiness flaps stays drained: the routers see at
//   most one drain per loss and one restore per holdDown of stable readiness.
// - A command that fails (exit status not 0, timeout, not found) leaves the state as it was and is
//   retried after `retry` while it is still wanted.
// - From Unknown (a fresh start) a ready shaper restores after the hold-down too: the command is
//   idempotent (setting a cost), and a previous run may have left the routers drained.
//
// Time comes in as `now` (steady clock), commands go through an injected Executor: the state
// machine is unit-tested with a fake clock and fake commands. Not thread-safe: one caller (the
// daemon's health thread, under its mutex).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/Error.h"
#include "common/Process.h"

namespace sluice::ha {

using process::Argv;

struct HookOptions {
  /// Commands run in order when readiness is lost; empty = nothing to run (the state still
  /// moves, so status shows what would have happened).
  std::vector<Argv> drain;
  /// Commands run in order after readiness held for holdDown.
  std::vector<Argv> restore;
  std::chrono::milliseconds timeout{10'000};  ///< per command ([ha] hook_timeout_seconds)
  std::chrono::seconds holdDown{30};          ///< [ha] hold_down_seconds
  std::chrono::seconds retry{5};              ///< wait after a failed command
  std::chrono::seconds startGrace{60};        ///< "starting" is not a loss of readiness this long
};

enum class RouteState : uint8_t { Unknown, Preferred, Drained };
enum class HookAction : uint8_t { None, Drain, Restore };

/// "unknown" | "preferred" | "drained"; "none" | "drain" | "restore".
const char* routeStateName(RouteState state);
const char* hookActionName(HookAction action);

/// One run of a hook's commands.
struct HookRun {
  HookAction action = HookAction::None;
  bool ok = false;
  std::string detail;  ///< the failing command and its error, or "ran N command(s)"
  double durationMs = 0;
  std::chrono::system_clock::time_point time;  ///< when it finished (wall clock, for status)
};

/// Runs one command: exit status 0 is success; anything else (non-zero exit with its stderr,
/// ETIMEDOUT after `timeout` with the group killed, ENOENT) is an error naming the command.
using Executor = std::function<Result<void>(const Argv& argv, std::chrono::milliseconds timeout)>;

/// The real executor (common/Process.h, own process group).
Result<void> runHookCommand(const Argv& argv, std::chrono::milliseconds timeout);

class RoutingHook {
 public:
  using Clock = std::chrono::steady_clock;

  /// `created` starts the start grace.
  RoutingHook(HookOptions options, Clock::time_point created, Executor executor = runHookCommand);

  /// What update() would do now, without doing it. `starting`: the daemon has not finished its
  /// first start (within startGrace a starting daemon's unreadiness is not acted on).
  HookAction decide(bool ready, bool starting, Clock::time_point now);

  /// decide() and run the chosen commands (blocking, at most timeout per command). Returns the
  /// run when one happened.
  std::optional<HookRun> update(bool ready, bool starting, Clock::time_point now);

  /// Runs `action` now whatever the state (orderly shutdown drains; the CLI's manual drain).
  HookRun run(HookAction action, Clock::time_point now);

  RouteState state() const { return state_; }
  bool configured() const { return !options_.drain.empty() || !options_.restore.empty(); }
  const HookOptions& options() const { return options_; }

  /// {"configured", "state", "ready_for_ms" (null when not ready), "restore_in_ms" (null unless
  /// a restore is pending), "drains", "restores", "failures", "last": null | {"action", "ok",
  /// "detail", "duration_ms", "time"}}
  nlohmann::json toJson(Clock::time_point now) const;

 private:
  HookOptions options_;
  Clock::time_point created_;
  Executor executor_;
  RouteState state_ = RouteState::Unknown;
  std::optional<Clock::time_point> readySince_;
  Clock::time_point retryAt_{};
  uint64_t drains_ = 0;
  uint64_t restores_ = 0;
  uint64_t failures_ = 0;
  std::optional<HookRun> last_;
};

}  // namespace sluice::ha
