#include "daemon/CaptureService.h"

#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "capture/CaptureManager.h"
#include "capture/Settings.h"

namespace sluice::daemon {

namespace {

using api::HttpResponse;
using nlohmann::json;

int statusFor(int errnum) {
  switch (errnum) {
    case EINVAL:
      return 422;
    case EBUSY:
      return 429;
    case ESHUTDOWN:
      return 503;
    default:
      return 500;
  }
}

HttpResponse failure(const Error& e) {
  std::string message = e.context;
  if (!e.detail.empty()) {
    message += ": " + e.detail;
  }
  return HttpResponse::error(statusFor(e.errnum), message);
}

json withDownload(const capture::CaptureStatus& s) {
  json body = s.toJson();
  body["download"] = "/api/capture/" + s.id;
  return body;
}

}  // namespace

CaptureService::CaptureService(Shaper& shaper) : shaper_(shaper) {}

CaptureService::~CaptureService() {
  stop();
}

void CaptureService::start() {
  const auto inputs = shaper_.snapshot().inputs;
  if (!inputs) {
    unavailable_ = "no configuration in force";
    return;
  }
  const config::Config& config = inputs->config;
  auto settings = capture::settingsFromConfig(config);
  if (!settings) {
    unavailable_ = settings.error().message();
    spdlog::error("captures off: {}", unavailable_);
    return;
  }
  settings->directory = shaper_.stateDirectory() + "/captures";
  capture::CapturePoint point;
  if (config.singleInterface) {
    // One port: every packet passes it twice (in on one VLAN, out on the other); outbound
    // only sees each once, after shaping.
    point = {config.singleInterface->interface, true, true};
  } else if (config.bridge) {
    // The subscriber-facing port sees both directions of a subscriber's traffic once.
    point = {config.bridge->toNetwork, false, false};
  }
  maxConcurrent_ = settings->maxConcurrent;
  manager_ = std::make_unique<capture::CaptureManager>(*settings, point);
  if (auto started = manager_->start(); !started) {
    unavailable_ = started.error().message();
    spdlog::error("captures off: {}", unavailable_);
    manager_.reset();
  }
}

void CaptureService::stop() {
  if (manager_) {
    manager_->stop();
  }
}

HttpResponse CaptureService::begin(const api::HttpRequest& req) {
  if (!manager_) {
    return HttpResponse::error(503, "captures are off: " + unavailable_);
  }
  const json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) {
    return HttpResponse::error(400, "the body must be a JSON object");
  }
  capture::CaptureRequest request;
  const auto number = [&](const char* key, uint32_t& out) -> bool {
    if (!body.contains(key)) {
      return true;
    }
    if (!body[key].is_number_unsigned() || body[key].get<uint64_t>() > UINT32_MAX) {
      return false;
    }
    out = body[key].get<uint32_t>();
    return true;
  };
  if (!number("seconds", request.seconds) || !number("snaplen", request.snaplen)) {
    return HttpResponse::error(422, "seconds and snaplen must be positive integers");
  }
  const bool byCircuit = body.contains("circuit") && body["circuit"].is_string();
  const bool byAddress = body.contains("address") && body["address"].is_string();
  if (byCircuit == byAddress) {
    return HttpResponse::error(422, "give exactly one of \"circuit\" (an ID) or \"address\"");
  }
  if (byCircuit) {
    request.circuitId = body["circuit"].get<std::string>();
    const auto inputs = shaper_.snapshot().inputs;
    const auto& shaped = inputs->model.shaped;
    const auto it = shaped.byId.find(request.circuitId);
    if (it == shaped.byId.end()) {
      return HttpResponse::error(404, fmt::format("no circuit \"{}\"", request.circuitId));
    }
    for (const model::Device& device : shaped.circuits[it->second].devices) {
      request.prefixes.insert(request.prefixes.end(), device.ipv4.begin(), device.ipv4.end());
      request.prefixes.insert(request.prefixes.end(), device.ipv6.begin(), device.ipv6.end());
    }
    if (request.prefixes.empty()) {
      return HttpResponse::error(422,
                                 fmt::format("circuit \"{}\" has no addresses", request.circuitId));
    }
    request.target = "circuit " + request.circuitId;
  } else {
    const std::string text = body["address"].get<std::string>();
    const auto address = IpNet::parse(text);
    if (!address) {
      return HttpResponse::error(422, fmt::format("address \"{}\" is not an IPv4 or IPv6 "
                                                  "address or prefix",
                                                  text));
    }
    request.prefixes.push_back(*address);
    request.target = "address " + address->toString();
  }
  auto started = manager_->begin(request);
  if (!started) {
    return failure(started.error());
  }
  return HttpResponse::json(202, withDownload(*started));
}

HttpResponse CaptureService::list(const api::HttpRequest&) {
  if (!manager_) {
    return HttpResponse::error(503, "captures are off: " + unavailable_);
  }
  json captures = json::array();
  for (const capture::CaptureStatus& s : manager_->list()) {
    captures.push_back(withDownload(s));
  }
  return HttpResponse::json(200, {{"captures", captures}, {"max_concurrent", maxConcurrent_}});
}

HttpResponse CaptureService::get(const api::HttpRequest&, const std::string& param) {
  if (!manager_) {
    return HttpResponse::error(503, "captures are off: " + unavailable_);
  }
  const size_t slash = param.find('/');
  const std::string id = param.substr(0, slash);
  const std::string rest = slash == std::string::npos ? "" : param.substr(slash + 1);
  if (!rest.empty() && rest != "status") {
    return HttpResponse::error(404, "no such capture route: " + param);
  }
  const auto status = manager_->status(id);
  if (!status) {
    return HttpResponse::error(404, fmt::format("no capture \"{}\" (unknown, or its file "
                                                "expired)",
                                                id));
  }
  if (rest == "status") {
    return HttpResponse::json(200, withDownload(*status));
  }
  if (status->state == capture::CaptureState::Running) {
    return HttpResponse::json(202, withDownload(*status));
  }
  if (status->state == capture::CaptureState::Failed) {
    return HttpResponse::json(500, withDownload(*status));
  }
  std::ifstream in(status->file, std::ios::binary);
  if (!in) {
    return HttpResponse::error(404, fmt::format("capture \"{}\": file gone", id));
  }
  HttpResponse r;
  r.status = 200;
  r.contentType = "application/vnd.tcpdump.pcap";
  r.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  r.headers.emplace_back(
      "Content-Disposition",
      fmt::format("attachment; filename=\"sluice-{}-{}.pcap\"",
                  status->circuitId.empty() ? "address" : status->circuitId, id));
  r.headers.emplace_back("X-Sluice-Capture-Packets", std::to_string(status->packets));
  r.headers.emplace_back("X-Sluice-Capture-Kernel-Drops", std::to_string(status->kernelDrops));
  r.headers.emplace_back("X-Sluice-Capture-Interface-Drops",
                         std::to_string(status->interfaceDrops));
  return r;
}

}  // namespace sluice::daemon
