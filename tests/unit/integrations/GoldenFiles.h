#pragma once
// Golden outputs of the integrations: tests/data/integrations/<vendor>/expected/<case>/
// {network.json, ShapedDevices.csv, warnings.txt}. SLUICE_UPDATE_GOLDEN=1 rewrites them from
// the current output (then review the diff). Also checks that the produced pair is accepted by
// the model reader as an operator's own files would be.

#include <string>

#include "integrations/Integration.h"

namespace sluice::integrations::testing {

/// EXPECTs `files` equal to the golden case `vendor/expected/name` (gtest failures name the
/// file and show both texts).
void expectGolden(const ShapingFiles& files, const std::string& vendor, const std::string& name);

/// EXPECTs model::loadInputs to read `files` (with `configText` as lqos.conf) without errors;
/// returns the number of circuits the model holds.
size_t expectModelAccepts(const ShapingFiles& files, const std::string& configText);

/// The contents of a file (gtest failure + "" when unreadable).
std::string readText(const std::string& path);

}  // namespace sluice::integrations::testing
