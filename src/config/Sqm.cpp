#include "config/Sqm.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace sluice::config {
namespace {

constexpr std::string_view kCategory = "invalid-sqm";

struct Unit {
  std::string_view suffix;
  double factor;
};

// tc's get_time(): no suffix = microseconds.
constexpr std::array kTimeUnits{
    Unit{"", 1},       Unit{"us", 1},      Unit{"usec", 1}, Unit{"usecs", 1}, Unit{"ms", 1e3},
    Unit{"msec", 1e3}, Unit{"msecs", 1e3}, Unit{"s", 1e6},  Unit{"sec", 1e6}, Unit{"secs", 1e6},
};

// tc's get_rate64(): SI prefixes, "bps" units are bytes per second; result in bits per second.
constexpr std::array kRateUnits{
    Unit{"", 1},
    Unit{"bit", 1},
    Unit{"kbit", 1e3},
    Unit{"mbit", 1e6},
    Unit{"gbit", 1e9},
    Unit{"tbit", 1e12},
    Unit{"bps", 8},
    Unit{"kbps", 8e3},
    Unit{"mbps", 8e6},
    Unit{"gbps", 8e9},
    Unit{"tbps", 8e12},
    Unit{"kibit", 1024.0},
    Unit{"mibit", 1048576.0},
    Unit{"gibit", 1073741824.0},
};

// Plain counts (packets, flows): no suffix allowed.
constexpr std::array kCountUnits{Unit{"", 1}};

// tc's get_size(): binary prefixes, bytes.
constexpr std::array kSizeUnits{
    Unit{"", 1},          Unit{"b", 1},          Unit{"k", 1024.0},       Unit{"kb", 1024.0},
    Unit{"m", 1048576.0}, Unit{"mb", 1048576.0}, Unit{"g", 1073741824.0}, Unit{"gb", 1073741824.0},
};

// CAKE's named round-trip times (tc-cake(8)), in microseconds.
constexpr std::array<std::pair<std::string_view, uint32_t>, 8> kCakeRttPresets{{
    {"datacentre", 100},
    {"lan", 1'000},
    {"metro", 10'000},
    {"regional", 30'000},
    {"internet", 100'000},
    {"oceanic", 300'000},
    {"satellite", 1'000'000},
    {"interplanetary", 3'600'000'000u},
}};

// Options tc-cake(8) knows that a LeafSpec cannot carry: refused by name, never dropped.
constexpr std::array<std::string_view, 30> kCakeUnsupported{
    "autorate-ingress",
    "flowblind",
    "srchost",
    "dsthost",
    "hosts",
    "flows",
    "dual-srchost",
    "dual-dsthost",
    "ack-filter-aggressive",
    "ptm",
    "atm",
    "noatm",
    "raw",
    "conservative",
    "ethernet",
    "docsis",
    "ether-vlan",
    "pppoa-vcmux",
    "pppoa-llc",
    "pppoe-vcmux",
    "pppoe-llcsnap",
    "pppoe-ptm",
    "bridged-vcmux",
    "bridged-llcsnap",
    "bridged-ptm",
    "ipoa-vcmux",
    "ipoa-llcsnap",
    "ingress",
    "egress",
    "fwmark",
};

constexpr std::array<std::string_view, 3> kFqCodelUnsupported{"ce_threshold", "drop_batch",
                                                              "ce_threshold_selector"};

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view word) {
  for (std::string_view item : list) {
    if (item == word) {
      return true;
    }
  }
  return false;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::vector<std::string> splitWords(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    if (i > start) {
      words.push_back(lower(text.substr(start, i - start)));
    }
  }
  return words;
}

/// "<number><unit>" with the unit from `units`; nullopt when malformed or not finite.
template <size_t N>
std::optional<double> parseWithUnit(std::string_view word, const std::array<Unit, N>& units) {
  double number = 0;
  auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), number);
  if (ec != std::errc{} || end == word.data() || !std::isfinite(number)) {
    return std::nullopt;
  }
  std::string_view suffix(end, word.data() + word.size() - end);
  for (const Unit& unit : units) {
    if (unit.suffix == suffix) {
      double value = number * unit.factor;
      return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
    }
  }
  return std::nullopt;
}

/// Token cursor with diagnostics for one sqm text.
class SqmParser {
 public:
  SqmParser(std::vector<std::string> words, const SourceLocation& where, std::string_view what,
            std::string_view text, Diagnostics& diags)
      : words_(std::move(words)), where_(where), what_(what), text_(text), diags_(diags) {}

  bool done() const { return stopped_ || pos_ >= words_.size(); }
  const std::string& next() { return words_[pos_++]; }

  void fail(std::string message) {
    ok_ = false;
    diags_.error(where_, std::string(kCategory), fmt::format("{}: {}", what_, message),
                 std::string(text_));
  }
  bool ok() const { return ok_; }

  /// Reports a token that cannot be interpreted and stops: what follows it (perhaps its
  /// argument) cannot be read reliably, so it is not reported as a string of further errors.
  void failAndStop(std::string message) {
    fail(std::move(message));
    stopped_ = true;
  }

  /// The argument of `option`, or nullopt (with an error) when the text ends.
  std::optional<std::string> argument(std::string_view option) {
    if (done()) {
      fail(fmt::format("option '{}' needs a value", option));
      return std::nullopt;
    }
    return next();
  }

  /// An unsigned count/size argument in [lo, hi], with units from `units`.
  template <size_t N>
  std::optional<uint64_t> unsignedArg(std::string_view option, const std::array<Unit, N>& units,
                                      double lo, double hi, std::string_view kind) {
    std::optional<std::string> word = argument(option);
    if (!word) {
      return std::nullopt;
    }
    std::optional<double> value = parseWithUnit(*word, units);
    if (!value || *value < lo || *value > hi) {
      fail(fmt::format("'{} {}' is not a valid {} (allowed {}..{})", option, *word, kind, lo, hi));
      return std::nullopt;
    }
    return static_cast<uint64_t>(std::llround(*value));
  }

  std::optional<uint32_t> timeArg(std::string_view option) {
    // Upper bound: the largest microsecond count a 32-bit field holds (~71 minutes).
    auto us = unsignedArg(option, kTimeUnits, 1, std::numeric_limits<uint32_t>::max(), "time");
    return us ? std::optional<uint32_t>(static_cast<uint32_t>(*us)) : std::nullopt;
  }

 private:
  std::vector<std::string> words_;
  size_t pos_ = 0;
  SourceLocation where_;
  std::string_view what_;
  std::string_view text_;
  Diagnostics& diags_;
  bool ok_ = true;
  bool stopped_ = false;
};

bool applyCakeDiffserv(std::string_view word, plan::CakeParams& cake) {
  using plan::CakeDiffserv;
  static constexpr std::array<std::pair<std::string_view, CakeDiffserv>, 5> kModes{{
      {"besteffort", CakeDiffserv::Besteffort},
      {"diffserv3", CakeDiffserv::Diffserv3},
      {"diffserv4", CakeDiffserv::Diffserv4},
      {"diffserv8", CakeDiffserv::Diffserv8},
      {"precedence", CakeDiffserv::Precedence},
  }};
  for (auto [name, mode] : kModes) {
    if (word == name) {
      cake.diffserv = mode;
      return true;
    }
  }
  return false;
}

bool applyCakeFlag(std::string_view word, plan::CakeParams& cake) {
  if (word == "ack-filter" || word == "no-ack-filter") {
    cake.ackFilter = word == "ack-filter";
  } else if (word == "nat" || word == "nonat") {
    cake.nat = word == "nat";
  } else if (word == "wash" || word == "nowash") {
    cake.wash = word == "wash";
  } else if (word == "split-gso" || word == "no-split-gso") {
    cake.splitGso = word == "split-gso";
  } else if (word == "unlimited") {
    cake.bandwidthBitsPerSecond = 0;
  } else if (word == "triple-isolate") {
    // CAKE's default flow isolation: nothing to record.
  } else {
    return false;
  }
  return true;
}

void parseCake(SqmParser& p, plan::LeafSpec& leaf) {
  leaf.kind = plan::LeafKind::Cake;
  leaf.cake = plan::CakeParams{};
  leaf.cake.diffserv = plan::CakeDiffserv::Diffserv3;  // tc-cake(8) default
  while (!p.done()) {
    const std::string& word = p.next();
    if (applyCakeDiffserv(word, leaf.cake) || applyCakeFlag(word, leaf.cake)) {
      continue;
    }
    bool preset = false;
    for (auto [name, us] : kCakeRttPresets) {
      if (word == name) {
        leaf.cake.rttUs = us;
        preset = true;
      }
    }
    if (preset) {
      continue;
    }
    if (word == "rtt") {
      if (auto us = p.timeArg(word)) {
        leaf.cake.rttUs = *us;
      }
    } else if (word == "bandwidth") {
      if (auto bits = p.unsignedArg(word, kRateUnits, 1, 1e15, "rate")) {
        leaf.cake.bandwidthBitsPerSecond = *bits;
      }
    } else if (word == "overhead") {
      std::optional<std::string> arg = p.argument(word);
      int32_t bytes = 0;
      if (arg) {
        auto [end, ec] = std::from_chars(arg->data(), arg->data() + arg->size(), bytes);
        if (ec != std::errc{} || end != arg->data() + arg->size() || bytes < -64 || bytes > 256) {
          p.fail(fmt::format("'overhead {}' is not a byte count in -64..256", *arg));
        } else {
          leaf.cake.overheadBytes = bytes;
        }
      }
    } else if (word == "mpu") {
      if (auto bytes = p.unsignedArg(word, kSizeUnits, 0, 256, "byte count")) {
        leaf.cake.mpuBytes = static_cast<uint32_t>(*bytes);
      }
    } else if (word == "memlimit") {
      if (auto bytes =
              p.unsignedArg(word, kSizeUnits, 1, std::numeric_limits<uint32_t>::max(), "size")) {
        leaf.cake.memlimitBytes = static_cast<uint32_t>(*bytes);
      }
    } else if (contains(kCakeUnsupported, word)) {
      p.failAndStop(fmt::format("cake option '{}' is not supported by Sluice", word));
    } else {
      p.failAndStop(fmt::format("unknown cake option '{}'", word));
    }
  }
}

void parseFqCodel(SqmParser& p, plan::LeafSpec& leaf) {
  leaf.kind = plan::LeafKind::FqCodel;
  leaf.fqCodel = plan::FqCodelParams{};
  constexpr double kU32Max = std::numeric_limits<uint32_t>::max();
  while (!p.done()) {
    const std::string& word = p.next();
    if (word == "ecn" || word == "noecn") {
      leaf.fqCodel.ecn = word == "ecn";
    } else if (word == "target" || word == "interval") {
      if (auto us = p.timeArg(word)) {
        (word == "target" ? leaf.fqCodel.targetUs : leaf.fqCodel.intervalUs) = *us;
      }
    } else if (word == "limit") {
      if (auto n = p.unsignedArg(word, kCountUnits, 1, kU32Max, "packet count")) {
        leaf.fqCodel.limitPackets = static_cast<uint32_t>(*n);
      }
    } else if (word == "flows") {
      if (auto n = p.unsignedArg(word, kCountUnits, 1, 65536, "flow count")) {
        leaf.fqCodel.flows = static_cast<uint32_t>(*n);
      }
    } else if (word == "quantum") {
      if (auto n = p.unsignedArg(word, kSizeUnits, 1, kU32Max, "byte count")) {
        leaf.fqCodel.quantumBytes = static_cast<uint32_t>(*n);
      }
    } else if (word == "memory_limit") {
      if (auto n = p.unsignedArg(word, kSizeUnits, 1, kU32Max, "size")) {
        leaf.fqCodel.memoryLimitBytes = static_cast<uint32_t>(*n);
      }
    } else if (contains(kFqCodelUnsupported, word)) {
      p.failAndStop(fmt::format("fq_codel option '{}' is not supported by Sluice", word));
    } else {
      p.failAndStop(fmt::format("unknown fq_codel option '{}'", word));
    }
  }
}

void parseFifo(SqmParser& p, plan::LeafSpec& leaf, bool bytes) {
  leaf.kind = bytes ? plan::LeafKind::Bfifo : plan::LeafKind::Pfifo;
  while (!p.done()) {
    const std::string& word = p.next();
    if (word == "limit") {
      auto n = bytes ? p.unsignedArg(word, kSizeUnits, 1, std::numeric_limits<uint32_t>::max(),
                                     "byte count")
                     : p.unsignedArg(word, kCountUnits, 1, std::numeric_limits<uint32_t>::max(),
                                     "packet count");
      if (n) {
        leaf.fifoLimit = static_cast<uint32_t>(*n);
      }
    } else {
      p.failAndStop(fmt::format("unknown {} option '{}'", bytes ? "bfifo" : "pfifo", word));
    }
  }
}

}  // namespace

std::optional<plan::LeafSpec> parseSqmText(std::string_view text, const SourceLocation& where,
                                           std::string_view what, Diagnostics& diags) {
  std::vector<std::string> words = splitWords(text);
  SqmParser p(words, where, what, text, diags);
  if (words.empty()) {
    p.fail("empty; name a qdisc such as 'cake diffserv4' or 'fq_codel'");
    return std::nullopt;
  }
  plan::LeafSpec leaf;
  std::string kind = p.next();
  if (kind == "cake") {
    parseCake(p, leaf);
  } else if (kind == "fq_codel") {
    parseFqCodel(p, leaf);
  } else if (kind == "pfifo" || kind == "bfifo") {
    parseFifo(p, leaf, kind == "bfifo");
  } else if (kind == "none") {
    leaf.kind = plan::LeafKind::None;
    if (!p.done()) {
      p.fail(fmt::format("unexpected '{}' after 'none'", p.next()));
    }
  } else {
    p.fail(fmt::format("unknown qdisc kind '{}' (expected cake, fq_codel, pfifo, bfifo or none)",
                       kind));
  }
  if (!p.ok()) {
    return std::nullopt;
  }
  return leaf;
}

}  // namespace sluice::config
