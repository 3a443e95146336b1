#include "planner/AddressIndex.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace sluice::plan {

AddressIndex::Words AddressIndex::wordsOf(const uint8_t* bytes) {
  Words w;
  std::memcpy(&w.hi, bytes, 8);
  std::memcpy(&w.lo, bytes + 8, 8);
  return w;
}

void AddressIndex::build(std::span<const AddressMapping> mappings) {
  levels_.clear();
  count_ = 0;
  // Indices of the mappings with a circuit, sorted by level, masked address and input order (of
  // equal prefixes the first counts). Sorting 4-byte indices instead of (level, address, order,
  // circuit) entries keeps the build transient at 4 bytes a prefix: the view is rebuilt on every
  // plan, at the daemon's peak (issue 5's RSS budget).
  std::array<int16_t, 129> levelOfLength;
  levelOfLength.fill(-1);
  std::vector<uint32_t> order;
  order.reserve(mappings.size());
  for (size_t i = 0; i < mappings.size(); ++i) {
    const AddressMapping& m = mappings[i];
    if (m.circuit < 0 || m.prefix.prefixLen > 128) {
      continue;
    }
    int16_t& level = levelOfLength[m.prefix.prefixLen];
    if (level < 0) {
      Level l;
      l.prefixLen = m.prefix.prefixLen;
      uint8_t mask[16] = {};
      for (int b = 0; b < l.prefixLen; ++b) {
        mask[b / 8] |= static_cast<uint8_t>(0x80 >> (b % 8));
      }
      l.mask = wordsOf(mask);
      level = static_cast<int16_t>(levels_.size());
      levels_.push_back(std::move(l));
    }
    order.push_back(static_cast<uint32_t>(i));
  }
  const auto levelOf = [&](uint32_t i) { return levelOfLength[mappings[i].prefix.prefixLen]; };
  const auto keyOf = [&](uint32_t i) {
    const Words a = wordsOf(mappings[i].prefix.addr.data());
    const Level& l = levels_[static_cast<size_t>(levelOf(i))];
    return Words{a.hi & l.mask.hi, a.lo & l.mask.lo};
  };
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    if (levelOf(x) != levelOf(y)) return levelOf(x) < levelOf(y);
    const Words ax = keyOf(x), ay = keyOf(y);
    if (ax.hi != ay.hi) return ax.hi < ay.hi;
    if (ax.lo != ay.lo) return ax.lo < ay.lo;
    return x < y;
  });
  for (size_t i = 0; i < order.size();) {
    Level& l = levels_[static_cast<size_t>(levelOf(order[i]))];
    size_t end = i;
    while (end < order.size() && levelOf(order[end]) == levelOf(order[i])) {
      ++end;
    }
    l.hi = keyOf(order[i]).hi;
    l.oneHi = std::all_of(order.begin() + static_cast<ptrdiff_t>(i),
                          order.begin() + static_cast<ptrdiff_t>(end),
                          [&](uint32_t j) { return keyOf(j).hi == l.hi; });
    size_t kept = 0;
    for (size_t j = i; j < end; ++j) {
      kept += j == i || keyOf(order[j]) != keyOf(order[j - 1]) ? 1 : 0;
    }
    if (!l.oneHi) {
      l.his.reserve(kept);
    }
    l.los.reserve(kept);
    l.circuits.reserve(kept);
    for (size_t j = i; j < end; ++j) {
      const Words a = keyOf(order[j]);
      if (j > i && a == keyOf(order[j - 1])) {
        continue;  // a later duplicate
      }
      if (!l.oneHi) {
        l.his.push_back(a.hi);
      }
      l.los.push_back(a.lo);
      l.circuits.push_back(mappings[order[j]].circuit);
      ++count_;
    }
    i = end;
  }
  std::sort(levels_.begin(), levels_.end(),
            [](const Level& a, const Level& b) { return a.prefixLen > b.prefixLen; });
}

int32_t AddressIndex::find(uint64_t addrHi, uint64_t addrLo) const {
  for (const Level& l : levels_) {
    const uint64_t hi = addrHi & l.mask.hi;
    const uint64_t lo = addrLo & l.mask.lo;
    size_t at;
    if (l.oneHi) {
      if (hi != l.hi) {
        continue;
      }
      auto it = std::lower_bound(l.los.begin(), l.los.end(), lo);
      if (it == l.los.end() || *it != lo) {
        continue;
      }
      at = static_cast<size_t>(it - l.los.begin());
    } else {
      size_t first = 0, count = l.los.size();
      while (count > 0) {  // lower_bound on (hi, lo)
        const size_t step = count / 2, mid = first + step;
        if (l.his[mid] < hi || (l.his[mid] == hi && l.los[mid] < lo)) {
          first = mid + 1;
          count -= step + 1;
        } else {
          count = step;
        }
      }
      if (first == l.los.size() || l.his[first] != hi || l.los[first] != lo) {
        continue;
      }
      at = first;
    }
    return l.circuits[at];
  }
  return -1;
}

size_t AddressIndex::heapBytes() const {
  size_t bytes = levels_.capacity() * sizeof(Level);
  for (const Level& l : levels_) {
    bytes += l.his.capacity() * 8 + l.los.capacity() * 8 + l.circuits.capacity() * 4;
  }
  return bytes;
}

int32_t AddressIndex::find(const IpNet& address) const {
  const Words w = wordsOf(address.addr.data());
  return find(w.hi, w.lo);
}

}  // namespace sluice::plan
