#include "tc/Psched.h"

#include <cerrno>
#include <cstdio>

#include <fmt/format.h>

namespace sluice::tc {

double Psched::tickInUsec() const {
  const uint32_t t2 = clockRes == 1'000'000'000 ? us2t : t2us;
  const double clockFactor = static_cast<double>(clockRes) / kTimeUnitsPerSec;
  return static_cast<double>(t2) / us2t * clockFactor;
}

uint32_t Psched::hz() const {
  if (clockRes == 1'000'000 && hzWord != 0) {
    return hzWord;
  }
  return 100;
}

uint32_t Psched::xmitTime(uint64_t rateBytesPerSec, uint32_t sizeBytes) const {
  const double usec = kTimeUnitsPerSec * (static_cast<double>(sizeBytes) /
                                          static_cast<double>(rateBytesPerSec));
  const auto truncatedUsec = static_cast<uint32_t>(usec);
  return static_cast<uint32_t>(truncatedUsec * tickInUsec());
}

Result<Psched> Psched::read(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    return makeError(errno, fmt::format("open {}", path));
  }
  Psched p;
  const int n = std::fscanf(f, "%08x%08x%08x%08x", &p.t2us, &p.us2t, &p.clockRes, &p.hzWord);
  std::fclose(f);
  if (n < 3 || p.us2t == 0) {
    return makeError(EINVAL, fmt::format("parse {}", path), "expected four hex words");
  }
  if (n == 3) {
    p.hzWord = 0;
  }
  return p;
}

RateTable computeRateTable(const Psched& clock, uint32_t rate32, uint32_t mtu, uint16_t mpu) {
  RateTable table;
  if (mtu == 0) {
    mtu = 2047;
  }
  uint8_t cellLog = 0;
  while ((mtu >> cellLog) > 255) {
    ++cellLog;
  }
  table.cellLog = cellLog;
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t size = (i + 1) << cellLog;
    if (size < mpu) {
      size = mpu;
    }
    table.ticks[i] = clock.xmitTime(rate32, size);
  }
  return table;
}

}  // namespace sluice::tc
