#pragma once
// Fingerprints for pair parity (ha/Parity.h): two shapers that would shape the same way have the
// same plan fingerprint, whatever their interface names, tx queue counts, class IDs (the bakery
// keeps class IDs stable across reloads, so they depend on each box's history) or lazy-queue
// state. SHA-256 (FIPS 180-4) through OpenSSL's EVP interface.

#include <string>
#include <string_view>

#include "common/Error.h"
#include "planner/QueuePlan.h"

namespace sluice::ha {

/// Lower-case hex SHA-256 of `bytes` (64 characters).
std::string sha256Hex(std::string_view bytes);

/// SHA-256 of a file's bytes, read in 1 MiB blocks. Errors: the errno of open/read, naming the
/// path.
Result<std::string> sha256File(const std::string& path);

/// SHA-256 over what subscribers get from `plan`: every node (name, generated, virtual, max
/// rates after fix-ups, in plan order), every circuit (ID, parent node name, min and max rates
/// after fix-ups) and every address mapping (prefix -> circuit ID). Leaves out interface names,
/// queues, CPUs and class IDs. Rates are printed with 6 decimals (1 bit/s resolution).
std::string planFingerprint(const plan::QueuePlan& plan);

}  // namespace sluice::ha
