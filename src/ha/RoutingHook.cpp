#include "ha/RoutingHook.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace sluice::ha {

namespace {

using std::chrono::milliseconds;

double msBetween(RoutingHook::Clock::time_point from, RoutingHook::Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

const char* routeStateName(RouteState state) {
  switch (state) {
    case RouteState::Unknown:
      return "unknown";
    case RouteState::Preferred:
      return "preferred";
    case RouteState::Drained:
      return "drained";
  }
  return "?";
}

const char* hookActionName(HookAction action) {
  switch (action) {
    case HookAction::None:
      return "none";
    case HookAction::Drain:
      return "drain";
    case HookAction::Restore:
      return "restore";
  }
  return "?";
}

Result<void> runHookCommand(const Argv& argv, milliseconds timeout) {
  auto child = process::Child::start(argv, {}, /*ownProcessGroup=*/true);
  if (!child) {
    return std::unexpected(child.error());
  }
  auto output = child->wait(timeout);
  if (!output) {
    return std::unexpected(output.error());
  }
  if (output->exitCode != 0) {
    std::string detail = trimmed(output->err);
    if (detail.empty()) {
      detail = trimmed(output->out);
    }
    return makeError(
        0, fmt::format("{} failed (exit {})", process::describe(argv), output->exitCode), detail);
  }
  return {};
}

RoutingHook::RoutingHook(HookOptions options, Clock::time_point created, Executor executor)
    : options_(std::move(options)), created_(created), executor_(std::move(executor)) {}

HookAction RoutingHook::decide(bool ready, bool starting, Clock::time_point now) {
  if (!ready) {
    readySince_.reset();
    if (state_ == RouteState::Drained || now < retryAt_) {
      return HookAction::None;
    }
    if (starting && state_ == RouteState::Unknown && now - created_ < options_.startGrace) {
      return HookAction::None;
    }
    return HookAction::Drain;
  }
  if (!readySince_) {
    readySince_ = now;
  }
  if (state_ == RouteState::Preferred || now < retryAt_ || now - *readySince_ < options_.holdDown) {
    return HookAction::None;
  }
  return HookAction::Restore;
}

std::optional<HookRun> RoutingHook::update(bool ready, bool starting, Clock::time_point now) {
  const HookAction action = decide(ready, starting, now);
  if (action == HookAction::None) {
    return std::nullopt;
  }
  return run(action, now);
}

HookRun RoutingHook::run(HookAction action, Clock::time_point now) {
  HookRun result;
  result.action = action;
  if (action == HookAction::None) {
    result.ok = true;
    return result;
  }
  const std::vector<Argv>& commands =
      action == HookAction::Drain ? options_.drain : options_.restore;
  const Clock::time_point started = Clock::now();
  result.ok = true;
  for (const Argv& argv : commands) {
    if (auto done = executor_(argv, options_.timeout); !done) {
      result.ok = false;
      result.detail = done.error().message();
      break;
    }
  }
  result.durationMs = msBetween(started, Clock::now());
  result.time = std::chrono::system_clock::now();
  if (result.ok) {
    result.detail = fmt::format("ran {} command(s)", commands.size());
    state_ = action == HookAction::Drain ? RouteState::Drained : RouteState::Preferred;
    ++(action == HookAction::Drain ? drains_ : restores_);
    retryAt_ = {};
  } else {
    ++failures_;
    retryAt_ = now + options_.retry;
  }
  last_ = result;
  return result;
}

nlohmann::json RoutingHook::toJson(Clock::time_point now) const {
  nlohmann::json out{{"configured", configured()},
                     {"state", routeStateName(state_)},
                     {"hold_down_s", options_.holdDown.count()},
                     {"timeout_ms", options_.timeout.count()},
                     {"drains", drains_},
                     {"restores", restores_},
                     {"failures", failures_},
                     {"ready_for_ms", nullptr},
                     {"restore_in_ms", nullptr},
                     {"last", nullptr}};
  if (readySince_) {
    out["ready_for_ms"] = msBetween(*readySince_, now);
    if (state_ != RouteState::Preferred) {
      const auto due = std::max(*readySince_ + options_.holdDown, retryAt_);
      out["restore_in_ms"] = std::max(0.0, msBetween(now, due));
    }
  }
  if (last_) {
    out["last"] = {
        {"action", hookActionName(last_->action)},
        {"ok", last_->ok},
        {"detail", last_->detail},
        {"duration_ms", last_->durationMs},
        {"time", fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                             fmt::gmtime(std::chrono::system_clock::to_time_t(last_->time)))}};
  }
  return out;
}

}  // namespace sluice::ha
