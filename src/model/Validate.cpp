#include "model/Validate.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "model/CellParsers.h"
#include "model/Inputs.h"

namespace sluice::model {

namespace {

/// One address of one device, for the sort-and-sweep checks.
struct AddressRef {
  IpNet net;
  uint32_t circuit = 0;
  uint32_t seq = 0;  ///< position in model order (circuits, devices, IPv4 then IPv6)
  const Device* device = nullptr;
  uint32_t fileRank = 0;  ///< index into ShapedDevices::sourceFiles (0 when not listed)
  uint64_t position =
      0;  ///< line and column; circuits group rows, so model order is not file order

  auto fileOrder() const { return std::tie(fileRank, position, seq); }
  SourceLocation where() const {
    return SourceLocation{device->where.file, static_cast<uint32_t>(position >> 32),
                          static_cast<uint32_t>(position)};
  }
};

std::vector<AddressRef> collectAddresses(const ShapedDevices& shaped) {
  std::vector<AddressRef> out;
  out.reserve(shaped.addressCount());
  auto rankOf = [&](const std::string& file) -> uint32_t {
    for (size_t i = 1; i < shaped.sourceFiles.size(); ++i) {
      if (shaped.sourceFiles[i] == file) {
        return static_cast<uint32_t>(i);
      }
    }
    return 0;
  };  for (size_t c = 0; c < shaped.circuits.size(); ++c) {
    for (const auto& device : shaped.circuits[c].devices) {
      auto add = [&](const std::vector<IpNet>& nets, bool v6) {
        for (size_t k = 0; k < nets.size(); ++k) {
          const SourceLocation where = device.addressWhere(v6, k);
          out.push_back(AddressRef{nets[k], static_cast<uint32_t>(c),
                                   static_cast<uint32_t>(out.size()), &device,
                                   rankOf(where.file),
                                   (uint64_t{where.line} << 32) | where.column});
        }
      };
      add(device.ipv4, false);
      add(device.ipv6, true);
    }
  }
  return out;
}

}  // namespace

void checkAddresses(const ShapedDevices& shaped, Diagnostics& diags) {
  auto refs = collectAddresses(shaped);
  // Sorting by (address, prefix length) puts every prefix before the prefixes it contains, and
  // equal prefixes in file order.
  std::sort(refs.begin(), refs.end(), [](const AddressRef& a, const AddressRef& b) {
    return std::tie(a.net.addr, a.net.prefixLen, a.fileRank, a.position, a.seq) <
           std::tie(b.net.addr, b.net.prefixLen, b.fileRank, b.position, b.seq);
  });
  auto circuitId = [&](const AddressRef& r) -> const std::string& {
    return shaped.circuits[r.circuit].id;
  };
  // Enclosing prefixes of the current one, outermost first; strictly nested, so at most 129 deep.
  std::vector<size_t> open;
  for (size_t i = 0; i < refs.size(); ++i) {
    const auto& cur = refs[i];
    while (!open.empty() && !refs[open.back()].net.contains(cur.net)) {
      open.pop_back();
    }
    if (!open.empty() && refs[open.back()].net == cur.net) {
      const auto& first = refs[open.back()];
      const auto text = cur.net.toString();
      if (first.circuit == cur.circuit) {
        diags.warning(cur.where(), "duplicate-address",
                      fmt::format("{} is listed twice in circuit '{}' (also at {})", text,
                                  circuitId(cur), first.where().toString()),
                      text);
      } else {
        diags.error(cur.where(), "duplicate-address",
                    fmt::format("{} of circuit '{}' is also assigned to circuit '{}' at {}", text,
                                circuitId(cur), circuitId(first), first.where().toString()),
                    text);
      }
      continue;
    }
    for (auto it = open.rbegin(); it != open.rend(); ++it) {
      const auto& outer = refs[*it];
      if (outer.circuit == cur.circuit) {
        continue;
      }
      const bool curIsLater = cur.fileOrder() > outer.fileOrder();
      const auto& here = curIsLater ? cur : outer;
      const auto& other = curIsLater ? outer : cur;
      diags.error(here.where(), "overlapping-cidr",
                  fmt::format("{} of circuit '{}' overlaps {} of circuit '{}' at {}",
                              here.net.toString(), circuitId(here), other.net.toString(),
                              circuitId(other), other.where().toString()),
                  here.net.toString());
      break;
    }
    open.push_back(i);
  }
}

void resolveParents(ShapedDevices& shaped, const Network& network, Diagnostics& diags) {
  if (!network.complete) {
    return;
  }
  const bool flat = network.nodes.empty();
  for (auto& circuit : shaped.circuits) {
    auto& parent = circuit.parentNode;
    if (parent.empty()) {
      continue;
    }
    if (lowerAscii(parent) == "none" && network.find(parent) == kNoNode) {
      parent.clear();
      continue;
    }
    if (flat) {
      diags.warning(circuit.parentWhere, "parent-ignored",
                    fmt::format("network.json is flat, so parent '{}' of circuit '{}' is ignored "
                                "and the circuit goes to a generated parent node",
                                parent, circuit.id),
                    parent);
      parent.clear();
    } else if (network.find(parent) == kNoNode) {
      diags.error(circuit.parentWhere, "unknown-parent",
                  fmt::format("parent node of circuit '{}' is not in network.json", circuit.id),
                  parent);
    }
  }
}

void computeDepths(Network& network, Diagnostics& diags) {
  const auto n = static_cast<int32_t>(network.nodes.size());
  std::vector<bool> seen(network.nodes.size(), false);
  std::vector<int32_t> todo;
  for (const auto root : network.roots) {
    if (root >= 0 && root < n && !seen[root] && network.nodes[root].parent == kNoNode) {
      seen[root] = true;
      network.nodes[root].depth = 0;
      todo.push_back(root);
    }
  }
  while (!todo.empty()) {
    const auto index = todo.back();
    todo.pop_back();
    for (const auto child : network.nodes[index].children) {
      if (child < 0 || child >= n || seen[child] || network.nodes[child].parent != index) {
        diags.error(network.nodes[index].where, "bad-node-link",
                    fmt::format("node '{}' lists child #{} that is not its own child",
                                network.nodes[index].name, child));
        continue;
      }
      seen[child] = true;
      network.nodes[child].depth = network.nodes[index].depth + 1;
      todo.push_back(child);
    }
  }
  for (int32_t i = 0; i < n; ++i) {
    if (!seen[i]) {
      diags.error(
          network.nodes[i].where, "bad-node-link",
          fmt::format("node '{}' is not reachable from the top of the tree", network.nodes[i].name),
          network.nodes[i].name);
    }
  }
}

void checkIpRanges(const ShapedDevices& shaped, const config::IpRangesConfig& ranges,
                   Diagnostics& diags) {
  auto parseAll = [](const std::vector<std::string>& texts) {
    std::vector<IpNet> out;
    for (const auto& t : texts) {
      if (auto net = IpNet::parse(t)) {
        out.push_back(*net);
      }
    }
    return out;
  };
  const auto allow = parseAll(ranges.allowSubnets);
  const auto ignore = parseAll(ranges.ignoreSubnets);
  const bool allowHasV4 = std::any_of(allow.begin(), allow.end(), [](auto& a) { return a.isV4; });
  const bool allowHasV6 = std::any_of(allow.begin(), allow.end(), [](auto& a) { return !a.isV4; });
  if (ignore.empty() && allow.empty()) {
    return;
  }
  size_t ignoredCount = 0;
  size_t notAllowedCount = 0;
  const auto refs = collectAddresses(shaped);
  for (const auto& ref : refs) {
    const auto inAny = [&](const std::vector<IpNet>& list) {
      return std::any_of(list.begin(), list.end(), [&](const IpNet& p) {
        return p.contains(ref.net) || ref.net.contains(p);
      });
    };
    const auto text = ref.net.toString();
    const auto& id = shaped.circuits[ref.circuit].id;
    if (inAny(ignore)) {
      if (++ignoredCount <= kMaxIpRangeWarnings) {
        diags.warning(ref.where(), "address-ignored",
                      fmt::format("{} of circuit '{}' lies in [ip_ranges] ignore_subnets; it is "
                                  "shaped as listed",
                                  text, id),
                      text);
      }
    } else if ((ref.net.isV4 ? allowHasV4 : allowHasV6) &&
               !std::any_of(allow.begin(), allow.end(),
                            [&](const IpNet& p) { return p.contains(ref.net); })) {
      if (++notAllowedCount <= kMaxIpRangeWarnings) {
        diags.warning(ref.where(), "address-not-allowed",
                      fmt::format("{} of circuit '{}' is outside every [ip_ranges] "
                                  "allow_subnets prefix; it is shaped as listed",
                                  text, id),
                      text);
      }
    }
  }
  auto summary = [&](size_t count, const char* category, const char* what) {
    if (count > kMaxIpRangeWarnings) {
      diags.warning(SourceLocation{refs.empty() ? SourceFile() : refs.front().device->where.file},
                    category,
                    fmt::format("{} more addresses {} (only the first {} are listed)",
                                count - kMaxIpRangeWarnings, what, kMaxIpRangeWarnings));
    }
  };
  summary(ignoredCount, "address-ignored", "lie in ignore_subnets");
  summary(notAllowedCount, "address-not-allowed", "are outside allow_subnets");
}

void validateModel(Model& model, const config::Config& config, Diagnostics& diags) {
  computeDepths(model.network, diags);
  resolveParents(model.shaped, model.network, diags);
  checkAddresses(model.shaped, diags);
  checkIpRanges(model.shaped, config.ipRanges, diags);
}

}  // namespace sluice::model
