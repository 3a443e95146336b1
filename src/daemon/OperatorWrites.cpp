// OperatorServices' write routes: circuits added, changed and removed (api::planCircuitChange),
// lqos.conf read, validated, replaced or its queue mode switched. Each writes its file atomically
// and reloads; a change the validation refuses writes nothing.

#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include "api/LiveChanges.h"
#include "common/AtomicFile.h"
#include "config/ConfigLoader.h"
#include "daemon/OperatorServices.h"

namespace sluice::daemon {

namespace {

using api::HttpRequest;
using api::HttpResponse;
using nlohmann::json;

std::optional<std::string> readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

std::optional<json> parseObject(const HttpRequest& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return std::nullopt;
  }
  return body;
}

/// lqos.conf text with [queues] queue_mode set to `mode` (the line replaced, or added to the
/// section, or a new section appended); other lines are kept byte for byte.
std::string withQueueMode(const std::string& text, const std::string& mode) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  const std::string setting = fmt::format("queue_mode = \"{}\"", mode);
  auto trimmed = [](const std::string& l) {
    const size_t b = l.find_first_not_of(" \t");
    return b == std::string::npos ? std::string() : l.substr(b);
  };
  std::optional<size_t> section;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string t = trimmed(lines[i]);
    if (t.starts_with("[")) {
      if (section) {
        break;
      }
      if (t.starts_with("[queues]")) {
        section = i;
      }
      continue;
    }
    if (section && t.starts_with("queue_mode") &&
        trimmed(t.substr(std::string("queue_mode").size())).starts_with("=")) {
      lines[i] = setting;
      section.reset();
      std::string out;
      for (const std::string& l : lines) {
        out += l + "\n";
      }
      return out;
    }
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i] + "\n";
    if (section && i == *section) {
      out += setting + "\n";
    }
  }
  if (!section) {
    out += "\n[queues]\n" + setting + "\n";
  }
  return out;
}

}  // namespace

HttpResponse OperatorServices::persistAndReload(const std::string& path, const std::string& text) {
  if (auto w = writeFileAtomically(path, text, {.keepExistingMode = true}); !w) {
    return HttpResponse::error(500, w.error().message());
  }
  spdlog::info("operator API: wrote {}; reloading", path);
  const api::Response reloaded = shaper_.reload(ReloadTrigger::Api);
  const std::string outcome = reloaded.body.value("outcome", "failed");
  json body{{"outcome", outcome}, {"reload", reloaded.body}, {"persisted", path}};
  if (outcome == "applied" || outcome == "unchanged") {
    return HttpResponse::json(200, body);
  }
  body["error"] = fmt::format("{} was written but the reload {} it", path,
                              outcome == "refused" ? "refused" : "failed to apply");
  return HttpResponse::json(reloaded.status >= 400 ? reloaded.status : 500, body);
}

HttpResponse OperatorServices::change(int kind, const std::string& id, const HttpRequest& req) {
  json body = json::object();
  const auto changeKind = static_cast<api::ChangeKind>(kind);
  if (changeKind != api::ChangeKind::Remove) {
    auto parsed = parseObject(req);
    if (!parsed) {
      return HttpResponse::error(400, "the request body must be a JSON object");
    }
    body = std::move(*parsed);
  }
  std::lock_guard lock(changeMutex_);
  api::PlannedChange plan =
      api::planCircuitChange(model::InputPaths{configPath_, {}, {}}, changeKind, id, body);
  if (!plan.ok()) {
    return HttpResponse::json(plan.status, plan.error);
  }
  return persistAndReload(plan.path, plan.text);
}

HttpResponse OperatorServices::addCircuit(const HttpRequest& req, const std::string&) {
  return change(static_cast<int>(api::ChangeKind::Add), "", req);
}

HttpResponse OperatorServices::patchCircuit(const HttpRequest& req, const std::string& id) {
  return change(static_cast<int>(api::ChangeKind::Patch), id, req);
}

HttpResponse OperatorServices::deleteCircuit(const HttpRequest& req, const std::string& id) {
  return change(static_cast<int>(api::ChangeKind::Remove), id, req);
}

HttpResponse OperatorServices::config(const HttpRequest&, const std::string&) {
  const std::optional<std::string> text = readText(configPath_);
  if (!text) {
    return HttpResponse::error(500, fmt::format("cannot read {}", configPath_));
  }
  json parsed;
  try {
    std::ostringstream out;
    out << toml::json_formatter{toml::parse(*text)};
    parsed = json::parse(out.str());
  } catch (const std::exception& e) {
    parsed = nullptr;  // the file is broken on disk: the text says how, validate says where
  }
  return HttpResponse::json(200, {{"path", configPath_}, {"text", *text}, {"parsed", parsed}});
}

HttpResponse OperatorServices::validateConfig(const HttpRequest& req, const std::string&) {
  auto body = parseObject(req);
  if (!body || !body->value("text", json()).is_string()) {
    return HttpResponse::error(400, "expected {\"text\": \"<lqos.conf>\"}");
  }
  Diagnostics diags;
  config::parseConfig((*body)["text"].get<std::string>(), configPath_, diags);
  return HttpResponse::json(200, {{"valid", !diags.hasErrors()},
                                  {"errors", api::diagnosticsToErrors(diags)}});
}

HttpResponse OperatorServices::putConfig(const HttpRequest& req, const std::string&) {
  auto body = parseObject(req);
  if (!body || !body->value("text", json()).is_string()) {
    return HttpResponse::error(400, "expected {\"text\": \"<lqos.conf>\"}");
  }
  const std::string text = (*body)["text"].get<std::string>();
  Diagnostics diags;
  config::parseConfig(text, configPath_, diags);
  if (diags.hasErrors()) {
    return HttpResponse::json(422, {{"error", "invalid lqos.conf; nothing was written"},
                                    {"valid", false},
                                    {"errors", api::diagnosticsToErrors(diags)}});
  }
  std::lock_guard lock(changeMutex_);
  return persistAndReload(configPath_, text);
}

HttpResponse OperatorServices::queueMode(const HttpRequest& req, const std::string&) {
  auto body = parseObject(req);
  const std::string mode = body ? body->value("mode", std::string()) : std::string();
  if (mode != "shape" && mode != "observe") {
    return HttpResponse::json(
        422, {{"error", "invalid queue mode"},
              {"errors", json::array({{{"field", "mode"},
                                       {"message", "must be \"shape\" or \"observe\""},
                                       {"value", body ? body->value("mode", json()).dump() : ""}}})}});
  }
  std::lock_guard lock(changeMutex_);
  const std::optional<std::string> text = readText(configPath_);
  if (!text) {
    return HttpResponse::error(500, fmt::format("cannot read {}", configPath_));
  }
  const std::string updated = withQueueMode(*text, mode);
  Diagnostics diags;
  config::parseConfig(updated, configPath_, diags);
  if (diags.hasErrors()) {
    return HttpResponse::json(409, {{"error", fmt::format("{} has errors; fix it first",
                                                          configPath_)},
                                    {"errors", api::diagnosticsToErrors(diags)}});
  }
  return persistAndReload(configPath_, updated);
}

}  // namespace sluice::daemon
