#include "synth/Names.h"

#include <array>
#include <string_view>

#include <fmt/format.h>

namespace sluice::synth {

namespace {

constexpr std::array<std::string_view, 40> kTownStarts = {
    "Ash",     "Bel",  "Birch",  "Black", "Bright", "Cedar",   "Clear", "Cold",   "Copper", "Deer",
    "Eagle",   "Elm",  "Fair",   "Fox",   "Glen",   "Granite", "Green", "Hazel",  "High",   "Iron",
    "Juniper", "Lake", "Laurel", "Maple", "Mill",   "Oak",     "Pine",  "Quarry", "Raven",  "Red",
    "River",   "Rock", "Sage",   "Salt",  "Silver", "Spring",  "Stone", "Sun",    "Willow", "Wolf"};

constexpr std::array<std::string_view, 18> kTownEnds = {
    "brook", "burg", "crest", "dale",  "field", "ford", "gate", "haven", "hill",
    "hurst", "mont", "port",  "ridge", "stead", "ton",  "vale", "ville", "wood"};

constexpr std::array<std::string_view, 6> kTownPrefixes = {"North", "South", "East",
                                                           "West",  "Upper", "Lower"};

constexpr std::array<std::string_view, 16> kLandmarks = {
    "Water Tower", "Grain Elevator", "Hilltop",    "Fiber Hut",      "Main Street", "Silo",
    "Ridge Tower", "Fire Station",   "East Tower", "South Tower",    "Exchange",    "Quarry Mast",
    "Courthouse",  "County Road",    "School",     "Industrial Park"};

constexpr std::array<std::string_view, 8> kSectors = {"N", "NE", "E", "SE", "S", "SW", "W", "NW"};

constexpr std::array<std::string_view, 48> kSurnames = {
    "Abernathy", "Alvarez", "Baker",     "Bergstrom", "Brennan",   "Castillo", "Chen",
    "Dlamini",   "Dubois",  "Eriksen",   "Fischer",   "Gallagher", "Garcia",   "Halvorsen",
    "Haddad",    "Ito",     "Jablonski", "Johansson", "Kaur",      "Kowalski", "Lindqvist",
    "Lopez",     "MacLeod", "Mbeki",     "Moreau",    "Nakamura",  "Novak",    "Nguyen",
    "O'Brien",   "Okafor",  "Olsen",     "Patel",     "Petrov",    "Quinn",    "Ramirez",
    "Rossi",     "Schmidt", "Silva",     "Sorensen",  "Takahashi", "Tremblay", "Underwood",
    "Varga",     "Walker",  "Weber",     "Yilmaz",    "Young",     "Zimmerman"};

constexpr std::array<std::string_view, 32> kStreets = {
    "Main",           "Oak",           "Pine",    "Maple",    "Cedar",    "Elm",      "Walnut",
    "Chestnut",       "Church",        "Mill",    "School",   "Prairie",  "Lakeview", "Hillcrest",
    "Sunset",         "Meadow",        "Orchard", "Railroad", "Highland", "Valley",   "Willow",
    "Birch",          "Spruce",        "Aspen",   "Cherry",   "Park",     "Ridge",    "River",
    "County Road 12", "Township Line", "Quarry",  "Harvest"};

constexpr std::array<std::string_view, 8> kStreetKinds = {"St", "Ave", "Rd",  "Ln",
                                                          "Dr", "Ct",  "Way", "Trl"};

constexpr std::array<std::string_view, 20> kTrades = {
    "Dental",          "Hardware",    "Auto Repair", "Bakery",      "Veterinary Clinic",
    "Insurance",       "Farm Supply", "Plumbing",    "Law Office",  "Feed & Seed",
    "Family Practice", "Diner",       "Library",     "Pharmacy",    "Grain Co-op",
    "Motel",           "Brewing",     "Landscaping", "Tax Service", "Chiropractic"};

constexpr std::array<std::string_view, 6> kRouterNames = {"Router",  "Home Router", "Mesh Base",
                                                          "Gateway", "CPE",         "ONT"};

constexpr std::array<std::string_view, 8> kExtraDeviceNames = {
    "Mesh Node", "Office Switch", "Camera",        "VoIP Adapter",
    "Smart TV",  "Game Console",  "Backup Router", "Shop Building"};

template <typename T, size_t N>
std::string_view pickFrom(Random& random, const std::array<T, N>& items) {
  return items[random.below(N)];
}

}  // namespace

std::string townName(Random& random) {
  std::string base =
      fmt::format("{}{}", pickFrom(random, kTownStarts), pickFrom(random, kTownEnds));
  if (random.chance(0.15)) {
    return fmt::format("{} {}", pickFrom(random, kTownPrefixes), base);
  }
  return base;
}

std::string popLandmark(uint32_t index) {
  const std::string_view landmark = kLandmarks[index % kLandmarks.size()];
  const uint32_t round = index / kLandmarks.size();
  return round == 0 ? std::string(landmark) : fmt::format("{} {}", landmark, round + 1);
}

std::string sector(uint32_t index) {
  return std::string(kSectors[index % kSectors.size()]);
}

std::string surname(Random& random) {
  return std::string(pickFrom(random, kSurnames));
}

std::string streetAddress(Random& random) {
  std::string out = fmt::format("{} {} {}", random.between(1, 9899), pickFrom(random, kStreets),
                                pickFrom(random, kStreetKinds));
  if (random.chance(0.08)) {
    out += fmt::format(", {} {}", random.chance(0.5) ? "Apt" : "Unit", random.between(1, 40));
  }
  return out;
}

std::string businessName(Random& random) {
  const std::string_view owner = pickFrom(random, kSurnames);
  if (random.chance(0.2)) {
    return fmt::format("{} & Sons {}", owner, pickFrom(random, kTrades));
  }
  return fmt::format("{} {}", owner, pickFrom(random, kTrades));
}

std::string deviceName(Random& random, const std::string& owner, uint32_t k) {
  if (k == 0) {
    return fmt::format("{} {}", owner, pickFrom(random, kRouterNames));
  }
  return fmt::format("{} {}", owner, pickFrom(random, kExtraDeviceNames));
}

}  // namespace sluice::synth
