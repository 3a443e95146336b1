#include "integrations/Sync.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/AtomicFile.h"
#include "common/Process.h"
#include "integrations/Integration.h"

namespace sluice::integrations {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNetwork = "network.json";
constexpr const char* kDevices = "ShapedDevices.csv";
/// Errors of a refused produced pair listed in the outcome's message at most.
constexpr size_t kErrorsListed = 5;
/// The tail of a custom command's output kept in a failure message.
constexpr size_t kOutputTail = 2000;

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return makeError(errno, "read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<void> ensureDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return makeError(ec.value(), "mkdir -p " + dir);
  }
  return {};
}

Result<void> copyPair(const std::string& from, const std::string& to) {
  for (const char* name : {kNetwork, kDevices}) {
    auto text = readFile(from + "/" + name);
    if (!text) {
      return std::unexpected(text.error());
    }
    if (auto ok = writeFileAtomically(to + "/" + name, *text); !ok) {
      return ok;
    }
  }
  return {};
}

std::string tail(const std::string& text) {
  return text.size() <= kOutputTail ? text : "..." + text.substr(text.size() - kOutputTail);
}

// "file:line:col: error: ..." lines of the first errors, for the outcome's message.
std::string firstErrors(const Diagnostics& diags) {
  std::string out;
  size_t n = 0;
  for (const Diagnostic& d : diags.all()) {
    if (d.severity != Severity::Error) {
      continue;
    }
    if (n++ < kErrorsListed) {
      out += (out.empty() ? "" : "; ") + d.toString();
    }
  }
  if (n > kErrorsListed) {
    out += fmt::format("; {} more", n - kErrorsListed);
  }
  return out;
}

// Puts back what install() replaced: the old text, or no file where there was none.
struct Backup {
  std::string path;
  std::optional<std::string> text;  ///< nullopt: the file did not exist
};

void restore(const std::vector<Backup>& backups) {
  for (const Backup& b : backups) {
    auto ok = b.text ? writeFileAtomically(b.path, *b.text, {.keepExistingMode = true})
                     : Result<void>{};
    if (!b.text) {
      std::error_code ec;
      fs::remove(b.path, ec);
    }
    if (!ok) {
      spdlog::error("sync: could not restore {}: {}", b.path, ok.error().message());
    }
  }
}

}  // namespace

std::string_view outcomeName(SyncOutcome::Kind kind) {
  switch (kind) {
    case SyncOutcome::Kind::Applied:
      return "applied";
    case SyncOutcome::Kind::Unchanged:
      return "unchanged";
    case SyncOutcome::Kind::Held:
      return "held";
    case SyncOutcome::Kind::Failed:
      return "failed";
    case SyncOutcome::Kind::DryRun:
      return "dry-run";
  }
  return "?";
}

nlohmann::json SyncOutcome::toJson() const {
  const auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(started.time_since_epoch()).count();
  return {{"outcome", outcomeName(kind)},
          {"source", source},
          {"message", message},
          {"started_unix", secs},
          {"duration_ms", durationMs},
          {"warnings", warnings},
          {"changes", changes.toJson()}};
}

SyncRunner::SyncRunner(SyncHost host, std::string stateDirectory,
                       std::shared_ptr<HttpClient> http)
    : host_(std::move(host)), dir_(std::move(stateDirectory) + "/sync"), http_(std::move(http)) {}

Result<SyncSettings> SyncRunner::settings() const {
  auto inForce = host_.inputsInForce();
  if (!inForce) {
    return makeError(EAGAIN, "sync", "the shaper has not started yet");
  }
  return syncSettings(inForce->config);
}

Result<model::Inputs> SyncRunner::produce(const SyncSettings& settings,
                                          const model::Inputs& inForce, SyncOutcome& outcome) {
  const std::string staging = dir_ + "/staging";
  if (auto ok = ensureDir(staging); !ok) {
    return std::unexpected(ok.error());
  }
  if (settings.mode == InputMode::Integration) {
    auto integration = makeEnabledIntegration(inForce.config, http_);
    if (!integration) {
      return std::unexpected(integration.error());
    }
    if (!*integration) {
      return makeError(EINVAL, "sync", "no integration is enabled");
    }
    outcome.source = std::string((*integration)->name());
    auto files = (*integration)->build();
    if (!files) {
      return std::unexpected(files.error());
    }
    outcome.warnings = std::move(files->warnings);
    for (const auto& [name, text] : {std::pair{kNetwork, &files->networkJson},
                                     std::pair{kDevices, &files->shapedDevicesCsv}}) {
      if (auto ok = writeFileAtomically(staging + "/" + name, *text); !ok) {
        return std::unexpected(ok.error());
      }
    }
  } else {
    process::Argv argv;
    for (const std::string& arg : settings.customCommand) {
      std::string a = arg;
      for (size_t at = a.find("{staging}"); at != std::string::npos; at = a.find("{staging}")) {
        a.replace(at, 9, staging);
      }
      argv.push_back(std::move(a));
    }
    outcome.source = "custom: " + argv.front();
    for (const char* name : {kNetwork, kDevices}) {
      fs::remove(staging + "/" + name);  // a command that writes nothing must not reuse a pair
    }
    auto ran = process::run(argv, {}, settings.timeout);
    if (!ran) {
      return std::unexpected(ran.error());
    }
    if (ran->exitCode != 0) {
      return makeError(0, process::describe(argv),
                       fmt::format("exit status {}: {}", ran->exitCode, tail(ran->err)));
    }
  }
  return validate(staging);
}

Result<model::Inputs> SyncRunner::validate(const std::string& dir) const {
  model::InputPaths paths;
  paths.config = host_.configPath;
  paths.network = dir + "/" + kNetwork;
  paths.devices = dir + "/" + kDevices;
  model::Inputs produced = model::loadInputs(paths);
  if (!produced.ok()) {
    return makeError(0, "the produced inputs are invalid", firstErrors(produced.diagnostics));
  }
  return produced;
}

SyncOutcome SyncRunner::install(const std::string& fromDir, const model::Inputs& inForce,
                                SyncOutcome outcome) {
  // What the operator's files hold now, to put back if the reload does not take the new ones.
  std::vector<Backup> backups;
  for (const auto& [name, target] : {std::pair{kNetwork, inForce.resolvedNetwork},
                                     std::pair{kDevices, inForce.resolvedDevices}}) {
    Backup b{target, std::nullopt};
    if (auto text = readFile(target)) {
      b.text = std::move(*text);
    }
    auto staged = readFile(fromDir + "/" + name);
    if (!staged) {
      outcome.kind = SyncOutcome::Kind::Failed;
      outcome.message = staged.error().message();
      return outcome;
    }
    backups.push_back(std::move(b));
    if (auto ok = writeFileAtomically(target, *staged, {.keepExistingMode = true}); !ok) {
      outcome.kind = SyncOutcome::Kind::Failed;
      outcome.message = ok.error().message();
      restore(backups);
      return outcome;
    }
  }
  auto reloaded = host_.reload();
  if (!reloaded) {
    restore(backups);
    outcome.kind = SyncOutcome::Kind::Failed;
    outcome.message = "the shaper did not take the synced inputs (" +
                      reloaded.error().message() + "); the previous files are back in place";
    return outcome;
  }
  outcome.kind = SyncOutcome::Kind::Applied;
  outcome.message = outcome.changes.summary();
  return outcome;
}

SyncOutcome SyncRunner::run(bool dryRun) {
  std::lock_guard run(runMutex_);
  SyncOutcome outcome;
  outcome.started = std::chrono::system_clock::now();
  const auto t0 = std::chrono::steady_clock::now();
  auto done = [&](SyncOutcome::Kind kind, std::string message) {
    outcome.kind = kind;
    outcome.message = std::move(message);
    return finish(outcome, t0);
  };
  auto inForce = host_.inputsInForce();
  if (!inForce) {
    return done(SyncOutcome::Kind::Failed, "the shaper has not started yet");
  }
  auto settings = syncSettings(inForce->config);
  if (!settings) {
    return done(SyncOutcome::Kind::Failed, settings.error().message());
  }
  if (settings->mode == InputMode::Manual) {
    return done(SyncOutcome::Kind::Failed,
                "the operating mode is manual ([sync] mode): there is nothing to sync");
  }
  auto produced = produce(*settings, *inForce, outcome);
  if (!produced) {
    return done(SyncOutcome::Kind::Failed, produced.error().message());
  }
  outcome.changes = compareModels(inForce->model, produced->model);
  if (dryRun) {
    return done(SyncOutcome::Kind::DryRun, outcome.changes.summary());
  }
  if (outcome.changes.empty()) {
    setHeld(std::nullopt);
    return done(SyncOutcome::Kind::Unchanged, "the produced inputs equal the ones in force");
  }
  const double share = outcome.changes.disruptiveShare();
  if (share > settings->massChangeShare) {
    const std::string held = dir_ + "/held";
    auto ok = ensureDir(held);
    if (ok) {
      ok = copyPair(dir_ + "/staging", held);
    }
    if (!ok) {
      return done(SyncOutcome::Kind::Failed, ok.error().message());
    }
    done(SyncOutcome::Kind::Held,
         fmt::format("the sync would remove {} and re-parent {} of {} circuits ({:.1f} %, above "
                     "the {:.1f} % of [sync] mass_change_threshold_percent): held until "
                     "`sluice integration approve`",
                     outcome.changes.circuitsRemoved.size(),
                     outcome.changes.circuitsReparented.size(), outcome.changes.circuitsBefore,
                     share * 100, settings->massChangeShare * 100));
    setHeld(outcome);
    return outcome;
  }
  setHeld(std::nullopt);
  outcome = install(dir_ + "/staging", *inForce, std::move(outcome));
  return finish(outcome, t0);
}

SyncOutcome SyncRunner::approve() {
  std::lock_guard run(runMutex_);
  const auto t0 = std::chrono::steady_clock::now();
  SyncOutcome outcome;
  outcome.started = std::chrono::system_clock::now();
  std::optional<SyncOutcome> held;
  {
    std::lock_guard lock(stateMutex_);
    held = held_;
  }
  if (!held) {
    outcome.message = "nothing is held for approval";
    return finish(outcome, t0);
  }
  outcome.source = held->source;
  outcome.warnings = held->warnings;
  auto inForce = host_.inputsInForce();
  auto produced = validate(dir_ + "/held");
  if (!inForce || !produced) {
    outcome.message = produced ? "the shaper has not started yet" : produced.error().message();
    return finish(outcome, t0);
  }
  outcome.changes = compareModels(inForce->model, produced->model);
  setHeld(std::nullopt);
  outcome = install(dir_ + "/held", *inForce, std::move(outcome));
  return finish(outcome, t0);
}

SyncOutcome SyncRunner::finish(SyncOutcome& outcome,
                               std::chrono::steady_clock::time_point started) {
  outcome.durationMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
          .count();
  {
    std::lock_guard lock(stateMutex_);
    ++runs_;
    if (outcome.kind != SyncOutcome::Kind::DryRun) {
      last_ = outcome;
    }
  }
  if (outcome.kind == SyncOutcome::Kind::Failed || outcome.kind == SyncOutcome::Kind::Held) {
    spdlog::warn("sync ({}): {}: {}", outcome.source, outcomeName(outcome.kind), outcome.message);
  } else {
    spdlog::info("sync ({}): {}: {} ({:.0f} ms)", outcome.source, outcomeName(outcome.kind),
                 outcome.message, outcome.durationMs);
  }
  return outcome;
}

void SyncRunner::setHeld(std::optional<SyncOutcome> held) {
  std::lock_guard lock(stateMutex_);
  held_ = std::move(held);
}

nlohmann::json SyncRunner::status() const {
  nlohmann::json j;
  auto inForce = host_.inputsInForce();
  auto settings = inForce ? syncSettings(inForce->config) : Result<SyncSettings>(SyncSettings{});
  if (settings) {
    j["mode"] = inputModeName(settings->mode);
    j["integration"] = settings->integration;
    j["interval_s"] = settings->interval.count();
    j["mass_change_threshold_percent"] = settings->massChangeShare * 100;
  } else {
    j["mode"] = "invalid";
    j["error"] = settings.error().message();
  }
  std::lock_guard lock(stateMutex_);
  j["runs"] = runs_;
  j["last"] = last_ ? last_->toJson() : nlohmann::json();
  j["pending"] = held_ ? held_->toJson() : nlohmann::json();
  return j;
}

}  // namespace sluice::integrations
