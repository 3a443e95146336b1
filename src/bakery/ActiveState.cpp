// <stateDir>/bakery/active.json: the plan Sluice applied, in the format of `sluice plan --format
// json` (planner/PlanJson.h) plus a "bakery" object with what that format leaves out (model
// indices of placements, the generation), written atomically (temp file, rename). No fsync: the
// file must survive the process (SIGKILL mid-apply), which the page cache guarantees; after a
// power loss the kernel's tree is gone as well, and an unreadable file is reported by load().

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bakery/Bakery.h"
#include "common/AtomicFile.h"
#include <fmt/ranges.h>

namespace sluice::bakery {
namespace {

using Json = nlohmann::ordered_json;

/// A field that is missing or has the wrong type: thrown inside the parser, turned into an
/// Error naming the file and the JSON path.
struct ParseError {
  std::string path;
  std::string what;
};

const Json& at(const Json& j, const std::string& key, const std::string& path) {
  if (!j.is_object() || !j.contains(key)) {
    throw ParseError{path + "." + key, "missing"};
  }
  return j.at(key);
}

template <typename T>
T get(const Json& j, const std::string& key, const std::string& path) {
  const Json& v = at(j, key, path);
  try {
    return v.get<T>();
  } catch (const nlohmann::json::exception&) {
    throw ParseError{path + "." + key, "has the wrong type: " + v.dump()};
  }
}

plan::TcHandle handle(const Json& v, const std::string& path) {
  if (v.is_null()) {
    return {};
  }
  if (!v.is_string()) {
    throw ParseError{path, "is not a handle string: " + v.dump()};
  }
  const std::string s = v.get<std::string>();
  const auto colon = s.find(':');
  if (colon == std::string::npos || colon == 0) {
    throw ParseError{path, "is not a tc handle (\"1:a\"): " + s};
  }
  try {
    const unsigned long major = std::stoul(s.substr(0, colon), nullptr, 16);
    const std::string minorText = s.substr(colon + 1);
    const unsigned long minor = minorText.empty() ? 0 : std::stoul(minorText, nullptr, 16);
    if (major > 0xFFFF || minor > 0xFFFF) {
      throw ParseError{path, "is out of range: " + s};
    }
    return {static_cast<uint16_t>(major), static_cast<uint16_t>(minor)};
  } catch (const std::logic_error&) {
    throw ParseError{path, "is not a tc handle (\"1:a\"): " + s};
  }
}

/// `holder` of `j` ("none" when absent: state files written before holders existed).
plan::HolderKind holderKind(const Json& j, const std::string& path) {
  if (!j.contains("holder")) {
    return plan::HolderKind::None;
  }
  const std::string holder = get<std::string>(j, "holder", path);
  if (holder != "none" && holder != "tbf") {
    throw ParseError{path + ".holder", "is not \"none\" or \"tbf\": " + holder};
  }
  return holder == "tbf" ? plan::HolderKind::Tbf : plan::HolderKind::None;
}

plan::ClassRole role(const std::string& s, const std::string& path) {
  if (s == "link") return plan::ClassRole::Link;
  if (s == "default") return plan::ClassRole::Default;
  if (s == "node") return plan::ClassRole::Node;
  if (s == "circuit") return plan::ClassRole::Circuit;
  throw ParseError{path, "unknown role " + s};
}

plan::CakeDiffserv diffserv(const std::string& s, const std::string& path) {
  for (auto m : {plan::CakeDiffserv::Besteffort, plan::CakeDiffserv::Diffserv3,
                 plan::CakeDiffserv::Diffserv4, plan::CakeDiffserv::Diffserv8,
                 plan::CakeDiffserv::Precedence}) {
    if (s == plan::cakeDiffservName(m)) {
      return m;
    }
  }
  throw ParseError{path, "unknown diffserv mode " + s};
}

std::optional<plan::LeafSpec> leaf(const Json& j, const std::string& path) {
  if (j.is_null()) {
    return std::nullopt;
  }
  plan::LeafSpec l;
  const std::string kind = get<std::string>(j, "kind", path);
  l.handleMajor = handle(at(j, "handle", path), path + ".handle").major;
  if (kind == "cake") {
    l.kind = plan::LeafKind::Cake;
    auto& c = l.cake;
    c.bandwidthBitsPerSecond = get<uint64_t>(j, "bandwidthBitsPerSecond", path);
    c.diffserv = diffserv(get<std::string>(j, "diffserv", path), path + ".diffserv");
    c.rttUs = get<uint32_t>(j, "rttUs", path);
    c.ackFilter = get<bool>(j, "ackFilter", path);
    c.nat = get<bool>(j, "nat", path);
    c.wash = get<bool>(j, "wash", path);
    c.splitGso = get<bool>(j, "splitGso", path);
    if (j.contains("overheadBytes")) c.overheadBytes = get<int32_t>(j, "overheadBytes", path);
    if (j.contains("mpuBytes")) c.mpuBytes = get<uint32_t>(j, "mpuBytes", path);
    if (j.contains("memlimitBytes")) c.memlimitBytes = get<uint32_t>(j, "memlimitBytes", path);
  } else if (kind == "fq_codel") {
    l.kind = plan::LeafKind::FqCodel;
    auto& f = l.fqCodel;
    f.limitPackets = get<uint32_t>(j, "limitPackets", path);
    f.flows = get<uint32_t>(j, "flows", path);
    f.targetUs = get<uint32_t>(j, "targetUs", path);
    f.intervalUs = get<uint32_t>(j, "intervalUs", path);
    f.quantumBytes = get<uint32_t>(j, "quantumBytes", path);
    f.ecn = get<bool>(j, "ecn", path);
    f.memoryLimitBytes = get<uint32_t>(j, "memoryLimitBytes", path);
  } else if (kind == "pfifo" || kind == "bfifo") {
    l.kind = kind == "pfifo" ? plan::LeafKind::Pfifo : plan::LeafKind::Bfifo;
    l.fifoLimit = get<uint32_t>(j, "limit", path);
  } else {
    throw ParseError{path + ".kind", "unknown leaf kind " + kind};
  }
  return l;
}

ActiveState parse(const Json& root) {
  ActiveState st;
  plan::QueuePlan& p = st.plan;
  if (get<std::string>(root, "format", "$") != "sluice-queue-plan" ||
      get<int>(root, "version", "$") != 1) {
    throw ParseError{"$.format", "is not sluice-queue-plan version 1"};
  }
  p.queueCount = get<uint16_t>(root, "queueCount", "$");
  p.onAStick = get<bool>(root, "onAStick", "$");
  p.holder = holderKind(root, "$");  // absent in state files written before holders existed
  p.queueCpu = get<std::vector<uint32_t>>(root, "queueCpu", "$");
  const Json& ifaces = at(root, "interfaces", "$");
  for (size_t i = 0; i < ifaces.size(); ++i) {
    const std::string ip = fmt::format("$.interfaces[{}]", i);
    plan::InterfacePlan iface;
    iface.ifname = get<std::string>(ifaces[i], "ifname", ip);
    iface.holder = p.holder;
    const Json& queues = at(ifaces[i], "queues", ip);
    for (size_t k = 0; k < queues.size(); ++k) {
      const std::string qp = fmt::format("{}.queues[{}]", ip, k);
      const Json& qj = queues[k];
      plan::HtbQueuePlan q;
      q.direction = get<std::string>(qj, "direction", qp) == "upload" ? plan::Direction::Upload
                                                                      : plan::Direction::Download;
      q.txQueue = get<uint16_t>(qj, "txQueue", qp);
      q.major = handle(at(qj, "handle", qp), qp + ".handle").major;
      q.r2q = get<uint32_t>(qj, "r2q", qp);
      q.defaultMinor = get<uint16_t>(qj, "defaultMinor", qp);
      q.holder = p.holder;
      const Json& classes = at(qj, "classes", qp);
      q.classes.reserve(classes.size());
      for (size_t c = 0; c < classes.size(); ++c) {
        const std::string cp = fmt::format("{}.classes[{}]", qp, c);
        const Json& cj = classes[c];
        plan::HtbClassPlan cls;
        cls.classid = handle(at(cj, "classid", cp), cp + ".classid");
        cls.parent = handle(at(cj, "parent", cp), cp + ".parent");
        cls.role = role(get<std::string>(cj, "role", cp), cp + ".role");
        if (cls.role == plan::ClassRole::Node) cls.modelIndex = get<int32_t>(cj, "node", cp);
        if (cls.role == plan::ClassRole::Circuit) cls.modelIndex = get<int32_t>(cj, "circuit", cp);
        cls.rateBitsPerSecond = get<uint64_t>(cj, "rateBitsPerSecond", cp);
        cls.ceilBitsPerSecond = get<uint64_t>(cj, "ceilBitsPerSecond", cp);
        cls.quantumBytes = get<uint32_t>(cj, "quantumBytes", cp);
        cls.prio = get<uint32_t>(cj, "prio", cp);
        cls.leaf = leaf(at(cj, "leaf", cp), cp + ".leaf");
        q.classes.push_back(std::move(cls));
      }
      iface.queues.push_back(std::move(q));
    }
    p.interfaces.push_back(std::move(iface));
  }
  const Json& extra = at(root, "bakery", "$");
  st.generation = get<uint32_t>(extra, "generation", "$.bakery");
  const auto nodeModel = get<std::vector<int32_t>>(extra, "nodeModelIndex", "$.bakery");
  const auto circuitModel = get<std::vector<int32_t>>(extra, "circuitModelIndex", "$.bakery");
  const Json& nodes = at(root, "nodes", "$");
  if (nodes.size() != nodeModel.size()) {
    throw ParseError{"$.bakery.nodeModelIndex", "does not match $.nodes in length"};
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const std::string np = fmt::format("$.nodes[{}]", i);
    plan::NodePlacement n;
    n.name = get<std::string>(nodes[i], "name", np);
    n.modelIndex = nodeModel[i];
    n.generated = get<bool>(nodes[i], "generated", np);
    n.isVirtual = get<bool>(nodes[i], "virtual", np);
    n.queue = get<uint16_t>(nodes[i], "queue", np);
    n.downClass = handle(at(nodes[i], "downClass", np), np + ".downClass");
    n.upClass = handle(at(nodes[i], "upClass", np), np + ".upClass");
    n.downloadMaxMbps = get<double>(nodes[i], "downloadMaxMbps", np);
    n.uploadMaxMbps = get<double>(nodes[i], "uploadMaxMbps", np);
    p.nodes.push_back(std::move(n));
  }
  const Json& circuits = at(root, "circuits", "$");
  if (circuits.size() != circuitModel.size()) {
    throw ParseError{"$.bakery.circuitModelIndex", "does not match $.circuits in length"};
  }
  for (size_t i = 0; i < circuits.size(); ++i) {
    const std::string cp = fmt::format("$.circuits[{}]", i);
    plan::CircuitPlacement c;
    c.circuitId = get<std::string>(circuits[i], "id", cp);
    c.modelIndex = circuitModel[i];
    c.parentPlacement = get<int32_t>(circuits[i], "parent", cp);
    c.queue = get<uint16_t>(circuits[i], "queue", cp);
    c.downClass = handle(at(circuits[i], "downClass", cp), cp + ".downClass");
    c.upClass = handle(at(circuits[i], "upClass", cp), cp + ".upClass");
    c.downloadMinMbps = get<double>(circuits[i], "downloadMinMbps", cp);
    c.uploadMinMbps = get<double>(circuits[i], "uploadMinMbps", cp);
    c.downloadMaxMbps = get<double>(circuits[i], "downloadMaxMbps", cp);
    c.uploadMaxMbps = get<double>(circuits[i], "uploadMaxMbps", cp);
    p.circuits.push_back(std::move(c));
  }
  const Json& addresses = at(root, "addresses", "$");
  p.addresses.reserve(addresses.size());
  for (size_t i = 0; i < addresses.size(); ++i) {
    const std::string ap = fmt::format("$.addresses[{}]", i);
    plan::AddressMapping m;
    const std::string prefix = get<std::string>(addresses[i], "prefix", ap);
    auto net = IpNet::parse(prefix);
    if (!net) {
      throw ParseError{ap + ".prefix", "is not an address or prefix: " + prefix};
    }
    m.prefix = *net;
    m.circuit = get<int32_t>(addresses[i], "circuit", ap);
    m.queue = get<uint16_t>(addresses[i], "queue", ap);
    m.cpu = get<uint32_t>(addresses[i], "cpu", ap);
    m.downClass = handle(at(addresses[i], "downClass", ap), ap + ".downClass");
    m.upClass = handle(at(addresses[i], "upClass", ap), ap + ".upClass");
    p.addresses.push_back(m);
  }
  return st;
}

std::string activePath(const std::string& stateDir) { return stateDir + "/bakery/active.json"; }

}  // namespace

Result<std::optional<ActiveState>> loadActiveState(const std::string& stateDir) {
  const std::string path = activePath(stateDir);
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) {
      return std::optional<ActiveState>{};
    }
    return makeError(errno, "read bakery active state " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  Json root;
  try {
    root = Json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    return makeError(EINVAL, "read bakery active state " + path, e.what());
  }
  try {
    return std::optional<ActiveState>(parse(root));
  } catch (const ParseError& e) {
    return makeError(EINVAL, "read bakery active state " + path,
                     fmt::format("{} {}", e.path, e.what));
  } catch (const nlohmann::json::exception& e) {
    return makeError(EINVAL, "read bakery active state " + path, e.what());
  }
}

namespace {

/// JSON string literal of `s` (RFC 8259 escapes).
void quoted(fmt::memory_buffer& out, std::string_view s) {
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        fmt::format_to(std::back_inserter(out), "\\\"");
        break;
      case '\\':
        fmt::format_to(std::back_inserter(out), "\\\\");
        break;
      default:
        if (c < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void handleOrNull(fmt::memory_buffer& out, plan::TcHandle h) {
  if (h.major == 0 && h.minor == 0) {
    fmt::format_to(std::back_inserter(out), "null");
  } else {
    quoted(out, h.toString());
  }
}

const char* roleText(plan::ClassRole role) {
  switch (role) {
    case plan::ClassRole::Link:
      return "link";
    case plan::ClassRole::Default:
      return "default";
    case plan::ClassRole::Node:
      return "node";
    case plan::ClassRole::Circuit:
      return "circuit";
  }
  return "circuit";
}

void leafJson(fmt::memory_buffer& out, const std::optional<plan::LeafSpec>& leaf) {
  auto it = std::back_inserter(out);
  if (!leaf || leaf->kind == plan::LeafKind::None) {
    fmt::format_to(it, "null");
    return;
  }
  const std::string handle = plan::TcHandle{leaf->handleMajor, 0}.toString();
  switch (leaf->kind) {
    case plan::LeafKind::Cake: {
      const auto& c = leaf->cake;
      fmt::format_to(it,
                     R"({{"kind":"cake","handle":"{}","bandwidthBitsPerSecond":{},"diffserv":"{}",)"
                     R"("rttUs":{},"ackFilter":{},"nat":{},"wash":{},"splitGso":{})",
                     handle, c.bandwidthBitsPerSecond, plan::cakeDiffservName(c.diffserv), c.rttUs,
                     c.ackFilter, c.nat, c.wash, c.splitGso);
      if (c.overheadBytes) fmt::format_to(it, R"(,"overheadBytes":{})", *c.overheadBytes);
      if (c.mpuBytes) fmt::format_to(it, R"(,"mpuBytes":{})", *c.mpuBytes);
      if (c.memlimitBytes) fmt::format_to(it, R"(,"memlimitBytes":{})", *c.memlimitBytes);
      out.push_back('}');
      return;
    }
    case plan::LeafKind::FqCodel: {
      const auto& f = leaf->fqCodel;
      fmt::format_to(it,
                     R"({{"kind":"fq_codel","handle":"{}","limitPackets":{},"flows":{},)"
                     R"("targetUs":{},"intervalUs":{},"quantumBytes":{},"ecn":{},)"
                     R"("memoryLimitBytes":{}}})",
                     handle, f.limitPackets, f.flows, f.targetUs, f.intervalUs, f.quantumBytes,
                     f.ecn, f.memoryLimitBytes);
      return;
    }
    case plan::LeafKind::Pfifo:
    case plan::LeafKind::Bfifo:
      fmt::format_to(it, R"({{"kind":"{}","handle":"{}","limit":{}}})",
                     leaf->kind == plan::LeafKind::Pfifo ? "pfifo" : "bfifo", handle,
                     leaf->fifoLimit);
      return;
    case plan::LeafKind::None:
      break;
  }
}

/// Bytes of rendered JSON kept before they go to the file: the text of a 100k-circuit state is
/// ~40 MB, which the writer no longer holds (with the buffer's growth, ~2x that) at once.
constexpr size_t kSpillBytes = 1 << 20;

/// The plan in the format of planner/PlanJson.h (same keys; compact) plus the "bakery" object,
/// written to `fd` in chunks of about kSpillBytes. Returns errno of the first failed write, 0 on
/// success. Written by hand with fmt: nlohmann's DOM took ~10x longer on a 10k-circuit plan.
int render(const ActiveState& state, int fd) {
  const plan::QueuePlan& p = state.plan;
  fmt::memory_buffer out;
  auto it = std::back_inserter(out);
  int err = 0;
  const auto spill = [&](size_t atLeast) {
    if (out.size() >= atLeast && err == 0) {
      err = writeAll(fd, out.data(), out.size());
    }
    if (out.size() >= atLeast) {
      out.clear();
    }
  };
  fmt::format_to(it,
                 R"({{"format":"sluice-queue-plan","version":1,"queueCount":{},"onAStick":{},)"
                 R"("holder":"{}",)",
                 p.queueCount, p.onAStick, plan::holderKindName(p.holder));
  fmt::format_to(it, R"("queueCpu":[{}],"interfaces":[)", fmt::join(p.queueCpu, ","));
  for (size_t i = 0; i < p.interfaces.size(); ++i) {
    const auto& iface = p.interfaces[i];
    fmt::format_to(it, "{}{{\"ifname\":", i ? "," : "");
    quoted(out, iface.ifname);
    fmt::format_to(it, R"(,"queues":[)");
    for (size_t k = 0; k < iface.queues.size(); ++k) {
      const auto& q = iface.queues[k];
      fmt::format_to(it,
                     R"({}{{"direction":"{}","txQueue":{},"handle":"{}","parent":"{}","r2q":{},)"
                     R"("defaultMinor":{},"classes":[)",
                     k ? "," : "", q.direction == plan::Direction::Download ? "download" : "upload",
                     q.txQueue, plan::TcHandle{q.major, 0}.toString(),
                     plan::queueParentOf(q).toString(), q.r2q, q.defaultMinor);
      for (size_t c = 0; c < q.classes.size(); ++c) {
        const auto& cls = q.classes[c];
        fmt::format_to(it, R"({}{{"classid":"{}","parent":"{}","role":"{}",)", c ? "," : "",
                       cls.classid.toString(), cls.parent.toString(), roleText(cls.role));
        if (cls.role == plan::ClassRole::Node) {
          fmt::format_to(it, R"("node":{},)", cls.modelIndex);
        } else if (cls.role == plan::ClassRole::Circuit) {
          fmt::format_to(it, R"("circuit":{},)", cls.modelIndex);
        }
        fmt::format_to(it,
                       R"("rateBitsPerSecond":{},"ceilBitsPerSecond":{},"quantumBytes":{},)"
                       R"("prio":{},"leaf":)",
                       cls.rateBitsPerSecond, cls.ceilBitsPerSecond, cls.quantumBytes, cls.prio);
        leafJson(out, cls.leaf);
        out.push_back('}');
        spill(kSpillBytes);
      }
      fmt::format_to(it, "]}}");
    }
    fmt::format_to(it, "]}}");
  }
  fmt::format_to(it, R"(],"nodes":[)");
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    const auto& n = p.nodes[i];
    fmt::format_to(it, "{}{{\"name\":", i ? "," : "");
    quoted(out, n.name);
    fmt::format_to(it, R"(,"generated":{},"virtual":{},"queue":{},"downClass":)", n.generated,
                   n.isVirtual, n.queue);
    handleOrNull(out, n.downClass);
    fmt::format_to(it, R"(,"upClass":)");
    handleOrNull(out, n.upClass);
    fmt::format_to(it, R"(,"downloadMaxMbps":{},"uploadMaxMbps":{}}})", n.downloadMaxMbps,
                   n.uploadMaxMbps);
    spill(kSpillBytes);
  }
  fmt::format_to(it, R"(],"circuits":[)");
  for (size_t i = 0; i < p.circuits.size(); ++i) {
    const auto& c = p.circuits[i];
    fmt::format_to(it, "{}{{\"id\":", i ? "," : "");
    quoted(out, c.circuitId);
    fmt::format_to(it,
                   R"(,"parent":{},"queue":{},"downClass":"{}","upClass":"{}","downloadMinMbps":{},)"
                   R"("uploadMinMbps":{},"downloadMaxMbps":{},"uploadMaxMbps":{}}})",
                   c.parentPlacement, c.queue, c.downClass.toString(), c.upClass.toString(),
                   c.downloadMinMbps, c.uploadMinMbps, c.downloadMaxMbps, c.uploadMaxMbps);
    spill(kSpillBytes);
  }
  fmt::format_to(it, R"(],"addresses":[)");
  for (size_t i = 0; i < p.addresses.size(); ++i) {
    const auto& a = p.addresses[i];
    fmt::format_to(it,
                   R"({}{{"prefix":"{}","circuit":{},"queue":{},"cpu":{},"downClass":"{}",)"
                   R"("upClass":"{}"}})",
                   i ? "," : "", a.prefix.toString(), a.circuit, a.queue, a.cpu,
                   a.downClass.toString(), a.upClass.toString());
    spill(kSpillBytes);
  }
  fmt::format_to(it, R"(],"bakery":{{"generation":{},"nodeModelIndex":[)", state.generation);
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    fmt::format_to(it, "{}{}", i ? "," : "", p.nodes[i].modelIndex);
    spill(kSpillBytes);
  }
  fmt::format_to(it, R"(],"circuitModelIndex":[)");
  for (size_t i = 0; i < p.circuits.size(); ++i) {
    fmt::format_to(it, "{}{}", i ? "," : "", p.circuits[i].modelIndex);
    spill(kSpillBytes);
  }
  fmt::format_to(it, "]}}}}\n");
  spill(0);
  return err;
}

}  // namespace

Result<void> saveActiveState(const std::string& stateDir, const ActiveState& state) {
  const std::string dir = stateDir + "/bakery";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return makeError(ec.value(), "create directory " + dir);
  }
  return writeFileAtomically(activePath(stateDir), [&](int fd) { return render(state, fd); },
                             {.sync = false});
}

}  // namespace sluice::bakery
