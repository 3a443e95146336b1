#pragma once
// Word lists and name builders for synthetic ISPs: towns for sites, landmarks for POPs, street
// addresses and business names for circuits. Uniqueness is the caller's job.

#include <string>

#include "synth/Random.h"

namespace sluice::synth {

/// A town name such as "Cedarbrook" or "North Millford".
std::string townName(Random& random);

/// A POP landmark such as "Water Tower" or "Grain Elevator"; `index` selects it (wraps, adding a
/// number once the list is used up) so that POPs of one site never repeat a landmark.
std::string popLandmark(uint32_t index);

/// A compass sector for an AP, "N" .. "NW".
std::string sector(uint32_t index);

/// A subscriber surname.
std::string surname(Random& random);

/// A residential circuit name: a street address, sometimes with ", Apt N" or ", Unit N".
std::string streetAddress(Random& random);

/// A business circuit name such as "Halvorsen Dental" or "Okafor & Sons Hardware".
std::string businessName(Random& random);

/// A device name for the k-th device (0-based) of a circuit owned by `owner`.
std::string deviceName(Random& random, const std::string& owner, uint32_t k);

}  // namespace sluice::synth
