#pragma once
// Where sluiced listens for the local control API unless the operator says otherwise.

#include <string_view>

namespace sluice::api {

/// Default path of the control socket (the daemon's --socket and the CLI's --socket default).
inline constexpr std::string_view kDefaultSocketPath = "/run/sluice/sluiced.sock";

}  // namespace sluice::api
