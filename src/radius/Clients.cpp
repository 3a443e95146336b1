#include "radius/Clients.h"

#include <cerrno>
#include <fstream>

#include <fmt/format.h>

namespace sluice::radius {

Result<Client> loadClient(const ClientConfig& config) {
  Client c;
  c.name = config.name;
  if (config.sources.empty()) {
    return makeError(EINVAL, "radius client",
                     fmt::format("client '{}' has no source", config.name));
  }
  for (const auto& s : config.sources) {
    auto net = IpNet::parse(s);
    if (!net) {
      return makeError(
          EINVAL, "radius client",
          fmt::format("client '{}': source '{}' is not an address or CIDR", config.name, s));
    }
    c.sources.push_back(*net);
  }
  std::ifstream in(config.secretFile);
  if (!in) {
    return makeError(errno, fmt::format("radius client '{}': read secret file {}", config.name,
                                        config.secretFile));
  }
  std::getline(in, c.secret);
  while (!c.secret.empty() && (c.secret.back() == '\r' || c.secret.back() == '\n')) {
    c.secret.pop_back();
  }
  if (c.secret.empty()) {
    return makeError(
        EINVAL, "radius client",
        fmt::format("client '{}': secret file {} line 1 is empty", config.name, config.secretFile));
  }
  return c;
}

const Client* findClient(const std::vector<Client>& clients, const IpNet& source) {
  const Client* best = nullptr;
  int bestLen = -1;
  for (const auto& c : clients) {
    for (const auto& net : c.sources) {
      if (net.contains(source) && net.prefixLen > bestLen) {
        best = &c;
        bestLen = net.prefixLen;
      }
    }
  }
  return best;
}

}  // namespace sluice::radius
