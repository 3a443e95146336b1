#include "daemon/PersistedOverlay.h"

#include <exception>

#include <spdlog/spdlog.h>

namespace sluice::daemon {

void PersistedOverlay::load(const Shaper::StartContext& context, model::Overlay& overlay) {
  // Each module fills a scratch overlay; only its own fields are taken, and only when it
  // finished, so a module that throws leaves no half of its entries behind.
  try {
    model::Overlay part;
    radius_ = RadiusService::restore(context.inputs, configPath_, context.stateDirectory, part);
    overlay.circuits = std::move(part.circuits);
  } catch (const std::exception& e) {
    radius_ = {};
    spdlog::error("radius: saved sessions not loaded for the first plan: {}", e.what());
  }
  try {
    model::Overlay part;
    stormguard_ =
        StormGuardService::restore(context.inputs, context.plan, context.stateDirectory, part);
    overlay.nodeRates = std::move(part.nodeRates);
  } catch (const std::exception& e) {
    stormguard_ = {};
    spdlog::error("stormguard: adjustments not loaded for the first plan: {}", e.what());
  }
  try {
    model::Overlay part;
    treeguard_ =
        TreeGuardService::restore(context.inputs, context.plan, context.stateDirectory, part);
    overlay.circuitSqm = std::move(part.circuitSqm);
    overlay.virtualNodes = std::move(part.virtualNodes);
  } catch (const std::exception& e) {
    treeguard_ = {};
    spdlog::error("treeguard: state not loaded for the first plan: {}", e.what());
  }
}

}  // namespace sluice::daemon
