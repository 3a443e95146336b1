#include "model/NetworkJson.h"

#include <cmath>
#include <iterator>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/FileText.h"
#include "model/TextIndex.h"

namespace sluice::model {

namespace {

using Json = nlohmann::json;

/// Deeper trees are refused: HTB has 8 levels anyway, and the bound keeps hostile input cheap.
constexpr uint32_t kMaxNodeDepth = 64;
/// 100 Tbit/s: anything above is a typo (or a unit mix-up) rather than a link.
constexpr double kMaxNodeRateMbps = 1e8;

/// A char iterator that remembers the last position nlohmann's lexer read, so that each SAX event
/// can be given the byte offset it came from (nlohmann's DOM keeps no positions).
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator(const char* p, const char** lastRead) : p_(p), lastRead_(lastRead) {}
  const char& operator*() const {
    *lastRead_ = p_;
    return *p_;
  }
  TrackingIterator& operator++() {
    ++p_;
    return *this;
  }
  TrackingIterator operator++(int) {
    auto copy = *this;
    ++p_;
    return copy;
  }
  bool operator==(const TrackingIterator& other) const { return p_ == other.p_; }

 private:
  const char* p_;
  const char** lastRead_;
};

enum class ValueKind { Null, Bool, Number, String, Object, Array };

const char* kindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::Null:
      return "null";
    case ValueKind::Bool:
      return "a boolean";
    case ValueKind::Number:
      return "a number";
    case ValueKind::String:
      return "a string";
    case ValueKind::Object:
      return "an object";
    case ValueKind::Array:
      return "an array";
  }
  return "?";
}

/// One JSON value as seen by the builder (scalars carry their value).
struct Value {
  ValueKind kind = ValueKind::Null;
  double number = 0;
  bool boolean = false;
  const std::string* text = nullptr;  ///< String values, and the literal text of numbers
};

/// SAX handler that builds the Network directly, with a frame per open object.
class NetworkBuilder {
 public:
  NetworkBuilder(std::string_view text, const std::string& fileName, Diagnostics& diags,
                 const char** lastRead)
      : text_(text), index_(text), fileName_(fileName), diags_(diags), lastRead_(lastRead) {}

  // nlohmann SAX interface.
  bool null() { return scalar(Value{ValueKind::Null}); }
  bool boolean(bool b) { return scalar(Value{ValueKind::Bool, 0, b}); }
  bool number_integer(Json::number_integer_t n) {
    integerText_ = std::to_string(n);
    return scalar(Value{ValueKind::Number, static_cast<double>(n), false, &integerText_});
  }
  bool number_unsigned(Json::number_unsigned_t n) {
    integerText_ = std::to_string(n);
    return scalar(Value{ValueKind::Number, static_cast<double>(n), false, &integerText_});
  }
  bool number_float(Json::number_float_t n, const std::string& literal) {
    return scalar(Value{ValueKind::Number, n, false, &literal});
  }
  bool string(std::string& s) { return scalar(Value{ValueKind::String, 0, false, &s}); }
  bool binary(Json::binary_t&) { return scalar(Value{ValueKind::Null}); }
  bool start_object(std::size_t) { return open(ValueKind::Object); }
  bool start_array(std::size_t) { return open(ValueKind::Array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& k);
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e);

  Network take();

 private:
  enum class FrameKind { NodeMap, NodeBody };
  struct Frame {
    FrameKind kind;
    int32_t node;  ///< NodeBody: the node; NodeMap: the node whose children these are (or none)
  };

  bool scalar(const Value& v);
  bool open(ValueKind kind);
  bool close();
  /// Handles a value in the current context; returns true when an object was entered as a frame.
  bool place(const Value& v);
  void placeNode(const Value& v, int32_t parent);
  void placeField(const Value& v, int32_t node);
  void setRate(const Value& v, double& rate, const std::string& nodeName);

  SourceLocation locate(size_t offset) const {
    const auto lc = index_.at(offset);
    return SourceLocation{fileName_, lc.line, lc.column};
  }
  size_t lastReadOffset() const { return static_cast<size_t>(*lastRead_ - text_.data()); }
  /// Offset of the value that follows the pending key (after the colon and any white space).
  size_t valueOffset() const;
  std::string keyText() const { return std::string(pendingKey_); }

  std::string_view text_;
  TextIndex index_;
  const SourceFile fileName_;  ///< shared by every node's location
  Diagnostics& diags_;
  const char** lastRead_;

  Network net_;
  std::vector<Frame> stack_;
  uint32_t skipDepth_ = 0;  ///< > 0 while inside a value that is being skipped
  std::string pendingKey_;
  std::string integerText_;  ///< literal of the integer being placed (ids keep all digits)
  size_t keyStart_ = 0;      ///< offset of the pending key's opening quote
  size_t keyEnd_ = 0;        ///< offset of its closing quote
};

size_t NetworkBuilder::valueOffset() const {
  size_t i = keyEnd_ + 1;
  auto skipSpace = [&] {
    while (i < text_.size() &&
           (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r')) {
      ++i;
    }
  };
  skipSpace();
  if (i < text_.size() && text_[i] == ':') {
    ++i;
  }
  skipSpace();
  return i;
}

bool NetworkBuilder::key(std::string& k) {
  if (skipDepth_ > 0) {
    return true;
  }
  // The lexer has just read the key's closing quote; its opening quote is the nearest earlier
  // quote that is not escaped (preceded by an even number of backslashes).
  keyEnd_ = lastReadOffset();
  size_t start = keyEnd_;
  while (start > 0) {
    --start;
    if (text_[start] != '"') {
      continue;
    }
    size_t backslashes = 0;
    while (start - backslashes > 0 && text_[start - backslashes - 1] == '\\') {
      ++backslashes;
    }
    if (backslashes % 2 == 0) {
      break;
    }
  }
  keyStart_ = start;
  pendingKey_ = k;
  return true;
}

bool NetworkBuilder::scalar(const Value& v) {
  if (skipDepth_ > 0) {
    return true;
  }
  place(v);
  return true;
}

bool NetworkBuilder::open(ValueKind kind) {
  if (skipDepth_ > 0) {
    ++skipDepth_;
    return true;
  }
  if (!place(Value{kind})) {
    skipDepth_ = 1;
  }
  return true;
}

bool NetworkBuilder::close() {
  if (skipDepth_ > 0) {
    --skipDepth_;
  } else if (!stack_.empty()) {
    stack_.pop_back();
  }
  return true;
}

bool NetworkBuilder::place(const Value& v) {
  const size_t framesBefore = stack_.size();
  if (stack_.empty()) {
    if (v.kind == ValueKind::Object && net_.nodes.empty() && net_.roots.empty()) {
      stack_.push_back(Frame{FrameKind::NodeMap, kNoNode});
    } else {
      diags_.error(
          locate(lastReadOffset()), "wrong-type",
          fmt::format("network.json must be a JSON object of nodes, not {}", kindName(v.kind)));
    }
  } else if (stack_.back().kind == FrameKind::NodeMap) {
    placeNode(v, stack_.back().node);
  } else {
    placeField(v, stack_.back().node);
  }
  return stack_.size() > framesBefore;
}

void NetworkBuilder::placeNode(const Value& v, int32_t parent) {
  const auto where = locate(keyStart_);
  if (v.kind != ValueKind::Object) {
    diags_.error(where, "wrong-type",
                 fmt::format("node '{}' must be an object, not {}", pendingKey_, kindName(v.kind)),
                 pendingKey_);
    return;
  }
  const uint32_t depth = parent == kNoNode ? 0 : net_.nodes[parent].depth + 1;
  if (depth >= kMaxNodeDepth) {
    diags_.error(where, "too-deep",
                 fmt::format("node '{}' is nested {} levels deep; at most {} are allowed",
                             pendingKey_, depth + 1, kMaxNodeDepth),
                 pendingKey_);
    return;
  }
  if (pendingKey_.empty()) {
    diags_.error(where, "bad-node-name", "node name is empty");
  }
  const auto index = static_cast<int32_t>(net_.nodes.size());
  Node node;
  node.name = pendingKey_;
  node.parent = parent;
  node.depth = depth;
  node.where = where;
  const auto [it, inserted] = net_.byName.emplace(pendingKey_, index);
  if (!inserted) {
    diags_.error(where, "duplicate-node-name",
                 fmt::format("node name '{}' is already used at {}", pendingKey_,
                             net_.nodes[it->second].where.toString()),
                 pendingKey_);
  }
  net_.nodes.push_back(std::move(node));
  if (parent == kNoNode) {
    net_.roots.push_back(index);
  } else {
    net_.nodes[parent].children.push_back(index);
  }
  stack_.push_back(Frame{FrameKind::NodeBody, index});
}

void NetworkBuilder::setRate(const Value& v, double& rate, const std::string& nodeName) {
  const auto where = locate(valueOffset());
  if (v.kind != ValueKind::Number) {
    diags_.error(where, "bad-node-rate",
                 fmt::format("{} of node '{}' must be a number of Mbps, not {}", pendingKey_,
                             nodeName, kindName(v.kind)),
                 v.kind == ValueKind::String ? *v.text : std::string());
    return;
  }
  if (!std::isfinite(v.number) || v.number < 0 || v.number > kMaxNodeRateMbps) {
    diags_.error(where, "bad-node-rate",
                 fmt::format("{} of node '{}' must be between 0 (inherit) and {} Mbps", pendingKey_,
                             nodeName, kMaxNodeRateMbps),
                 v.text ? *v.text : fmt::format("{}", v.number));
    return;
  }
  rate = v.number;
}

void NetworkBuilder::placeField(const Value& v, int32_t nodeIndex) {
  Node& node = net_.nodes[nodeIndex];
  const auto& key = pendingKey_;
  auto wrongType = [&](const char* expected, bool isError) {
    const auto where = locate(valueOffset());
    auto message = fmt::format("'{}' of node '{}' must be {}, not {}", key, node.name, expected,
                               kindName(v.kind));
    if (isError) {
      diags_.error(where, "wrong-type", std::move(message));
    } else {
      diags_.warning(where, "wrong-type", message + "; ignored");
    }
  };
  if (key == "children") {
    if (v.kind == ValueKind::Object) {
      stack_.push_back(Frame{FrameKind::NodeMap, nodeIndex});
    } else if (v.kind != ValueKind::Null) {
      wrongType("an object of nodes", true);
    }
  } else if (key == "downloadBandwidthMbps") {
    setRate(v, node.downloadMbps, node.name);
  } else if (key == "uploadBandwidthMbps") {
    setRate(v, node.uploadMbps, node.name);
  } else if (key == "type") {
    if (v.kind == ValueKind::String) {
      node.type = *v.text;
    } else if (v.kind != ValueKind::Null) {
      wrongType("a string", true);
    }
  } else if (key == "id") {
    // Integrations write ids as strings or as numbers; both are accepted as text.
    if (v.kind == ValueKind::String) {
      node.id = *v.text;
    } else if (v.kind == ValueKind::Number) {
      node.id = v.text ? *v.text : fmt::format("{}", v.number);
    } else if (v.kind != ValueKind::Null) {
      wrongType("a string", true);
    }
  } else if (key == "virtual") {
    if (v.kind == ValueKind::Bool) {
      node.isVirtual = v.boolean;
    } else if (v.kind != ValueKind::Null) {
      wrongType("true or false", true);
    }
  } else if (key == "latitude" || key == "longitude") {
    // Only the map in the UI uses coordinates, so a bad one must not refuse the whole file.
    auto& target = key == "latitude" ? node.latitude : node.longitude;
    if (v.kind == ValueKind::Number) {
      target = v.number;
    } else if (v.kind != ValueKind::Null) {
      wrongType("a number", false);
    }
  } else if (key == "name" || key == "uisp_device" || key == "uisp_site") {
    // Written by LibreQoS's own integrations (the UISP importer); nothing for Sluice to act on.
  } else {
    diags_.warning(locate(keyStart_), "unknown-key",
                   fmt::format("unknown key '{}' in node '{}' is ignored", key, node.name), key);
  }
}

bool NetworkBuilder::parse_error(std::size_t position, const std::string&,
                                 const nlohmann::detail::exception& e) {
  // nlohmann's message reads "[json.exception.parse_error.101] parse error at line L, column C:
  // <reason>"; our own position (code-point columns) replaces its prefix.
  std::string reason = e.what();
  if (const auto colon = reason.find(": "); colon != std::string::npos) {
    reason = reason.substr(colon + 2);
  }
  const size_t offset = position > 0 ? position - 1 : 0;
  diags_.error(locate(offset), "json-syntax", fmt::format("invalid JSON: {}", reason));
  net_.complete = false;
  return false;
}

Network NetworkBuilder::take() {
  for (size_t i = 0; i < net_.nodes.size(); ++i) {
    const auto& node = net_.nodes[i];
    if (node.id.empty()) {
      continue;
    }
    const auto [it, inserted] = net_.byId.emplace(node.id, static_cast<int32_t>(i));
    if (!inserted) {
      diags_.warning(
          node.where, "duplicate-node-id",
          fmt::format("node '{}' has id '{}', already used by node '{}' at {}", node.name, node.id,
                      net_.nodes[it->second].name, net_.nodes[it->second].where.toString()),
          node.id);
    }
  }
  return std::move(net_);
}

}  // namespace

Network parseNetworkJson(std::string_view text, const std::string& fileName, Diagnostics& diags) {
  constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
  if (text.starts_with(kUtf8Bom)) {
    text.remove_prefix(kUtf8Bom.size());
  }
  const char* lastRead = text.data();
  NetworkBuilder builder(text, fileName, diags, &lastRead);
  TrackingIterator first(text.data(), &lastRead);
  TrackingIterator last(text.data() + text.size(), &lastRead);
  Json::sax_parse(first, last, &builder);
  return builder.take();
}

Network loadNetworkJson(const std::string& path, Diagnostics& diags) {
  const auto bytes = readInputFile(path, "network.json", diags);
  if (!bytes) {
    Network net;
    net.complete = false;
    return net;
  }
  return parseNetworkJson(*bytes, path, diags);
}

}  // namespace sluice::model
