#pragma once
// RADIUS clients (the NASes and CoA senders we accept): each has source prefixes and a shared
// secret read from a file (RFC 2865 §3: the secret is shared per client; never in lqos.conf).

#include <string>
#include <vector>

#include "common/Error.h"
#include "common/IpNet.h"

namespace sluice::radius {

struct ClientConfig {
  std::string name;
  std::vector<std::string> sources;  ///< "192.0.2.1", "192.0.2.0/24", "2001:db8::/64"
  std::string secretFile;            ///< first line is the secret; trailing CR/LF removed
};

struct Client {
  std::string name;
  std::vector<IpNet> sources;
  std::string secret;
};

/// Reads the secret file and parses the sources. Errors: ENOENT/EACCES (context names the file),
/// EINVAL for an empty secret, no source, or a source that is not an address or CIDR (detail
/// names the client and value).
Result<Client> loadClient(const ClientConfig& config);

/// The client whose prefixes contain `source`, longest prefix first; nullptr when none.
const Client* findClient(const std::vector<Client>& clients, const IpNet& source);

}  // namespace sluice::radius
