#pragma once
// Which circuit owns which address, while an integration builds its graph. The model reader
// refuses two circuits sharing an address or overlapping prefixes ("duplicate-address",
// "overlapping-cidr"), so a vendor answer that hands one address to two subscribers must lose
// it on the second one (with a warning naming both), not fail the whole sync. LibreQoS drops
// exact duplicates only (integrationSplynx.py extractServiceIPs; integrationSonar.py "never
// reusing a subnet"); overlaps are dropped here too because Sluice's reader rejects them.
//
// Not thread-safe; one per build.

#include <cstdint>
#include <map>
#include <string>

#include "common/IpNet.h"

namespace sluice::integrations {

class AddressClaims {
 public:
  /// Claims `net` for `owner` (a circuit id). Returns "" when it was free (or already this
  /// owner's: a repeat is harmless), else the owner that holds an equal or overlapping prefix.
  /// Cost: O(prefix length × log n).
  std::string claim(const IpNet& net, const std::string& owner);

  size_t size() const { return owners_.size(); }

 private:
  std::map<IpNet, std::string> owners_;
  uint8_t usedLengths_[129] = {};  // which prefix lengths occur, to skip empty levels
};

}  // namespace sluice::integrations
