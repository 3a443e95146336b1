#include "ha/Readiness.h"

#include <fmt/format.h>

namespace sluice::ha {

namespace {

Check running(const HealthSnapshot& s) {
  switch (s.phase) {
    case Phase::Starting:
      return {"running", false, "sluiced is starting"};
    case Phase::Stopping:
      return {"running", false, "sluiced is stopping"};
    case Phase::Running:
      break;
  }
  return {"running", true, "running"};
}

Check shaping(const HealthSnapshot& s) {
  if (!s.shaping) {
    return {"shaping", false, "queue_mode is observe: no tree, traffic would pass unshaped"};
  }
  return {"shaping", true, "queue_mode shape"};
}

Check dataplane(const HealthSnapshot& s) {
  std::string problems;
  const auto add = [&](const std::string& what) {
    problems += problems.empty() ? what : "; " + what;
  };
  if (s.interfaces.empty()) {
    add("no shaping interface attached");
  }
  for (const InterfaceHealth& i : s.interfaces) {
    if (!i.linkUp) {
      add(fmt::format("link {} is down", i.name));
    }
    if (!i.xdpAttached) {
      add(fmt::format("XDP program not attached on {}", i.name));
    }
    if (!i.tcAttached) {
      add(fmt::format("tc classifier not attached on {}", i.name));
    }
  }
  if (!s.pinnedMapsPresent) {
    add("pinned maps missing");
  }
  if (s.bypass) {
    add("fail-open bypass is on: traffic passes unshaped");
  }
  if (!problems.empty()) {
    return {"dataplane", false, problems};
  }
  return {"dataplane", true, fmt::format("attached on {} interface(s)", s.interfaces.size())};
}

Check tree(const HealthSnapshot& s) {
  if (!s.driftError.empty()) {
    return {"tree", false, "live tree unreadable: " + s.driftError};
  }
  if (!s.driftDifferences) {
    return {"tree", false, "live tree not compared with the plan yet"};
  }
  if (*s.driftDifferences > 0) {
    return {"tree", false,
            fmt::format("live tree differs from the plan in {} place(s)", *s.driftDifferences)};
  }
  return {"tree", true, "live tree matches the plan"};
}

Check apply(const HealthSnapshot& s) {
  if (!s.lastApplyOk) {
    return {"apply", false,
            "last apply failed" + (s.lastApplyError.empty() ? "" : ": " + s.lastApplyError)};
  }
  return {"apply", true, "last apply succeeded"};
}

Check inputs(const HealthSnapshot& s, const ReadinessRules& rules) {
  if (rules.maxInputAge.count() <= 0) {
    return {"inputs", true, "no age limit"};
  }
  if (!s.inputsModified) {
    return {"inputs", false, "input files' age unknown"};
  }
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(s.now - *s.inputsModified);
  if (age > rules.maxInputAge) {
    return {"inputs", false,
            fmt::format("inputs are {} s old (max_input_age_seconds {})", age.count(),
                        rules.maxInputAge.count())};
  }
  return {"inputs", true, fmt::format("inputs are {} s old", std::max<int64_t>(age.count(), 0))};
}

Check urgent(const HealthSnapshot& s) {
  if (s.urgent.empty()) {
    return {"urgent", true, "no urgent issue"};
  }
  std::string all;
  for (const std::string& issue : s.urgent) {
    all += all.empty() ? issue : "; " + issue;
  }
  return {"urgent", false, all};
}

}  // namespace

std::string Readiness::reason() const {
  std::string out;
  for (const Check& check : checks) {
    if (!check.ok) {
      out += out.empty() ? check.detail : "; " + check.detail;
    }
  }
  return out.empty() ? "ready" : out;
}

nlohmann::json Readiness::toJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const Check& check : checks) {
    list.push_back({{"name", check.name}, {"ok", check.ok}, {"detail", check.detail}});
  }
  return {{"ready", ready}, {"reason", reason()}, {"checks", list}};
}

Readiness evaluateReadiness(const HealthSnapshot& snapshot, const ReadinessRules& rules) {
  Readiness out;
  out.checks = {running(snapshot), shaping(snapshot),       dataplane(snapshot), tree(snapshot),
                apply(snapshot),   inputs(snapshot, rules), urgent(snapshot)};
  out.ready = true;
  for (const Check& check : out.checks) {
    out.ready = out.ready && check.ok;
  }
  return out;
}

}  // namespace sluice::ha
