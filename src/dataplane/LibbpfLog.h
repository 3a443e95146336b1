#pragma once
// Routes libbpf's own log (verifier output, pinning decisions, attach errors) into spdlog.

namespace sluice::dataplane {

/// Installs the libbpf print callback (idempotent, thread-safe). libbpf WARN maps to
/// spdlog::warn, INFO to info, DEBUG to debug.
void routeLibbpfLogToSpdlog();

}  // namespace sluice::dataplane
