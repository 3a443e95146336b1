// libFuzzer target: network.json text through the SAX reader. Checks, besides the sanitizers,
// that the reader agrees with nlohmann's own validator on what is valid JSON and that the tree it
// builds is consistent; traps when either breaks.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/Inputs.h"
#include "model/NetworkJson.h"

namespace {

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Diagnostics diags;
  model::Model model;
  model.network = model::parseNetworkJson(text, "network.json", diags);
  const auto& net = model.network;

  // Syntax errors are reported exactly when the text is not JSON (the BOM is ours to skip).
  if (text.starts_with("\xEF\xBB\xBF")) {
    text.remove_prefix(3);
  }
  const bool valid = nlohmann::json::accept(text);
  check(valid == !diags.has("json-syntax"));
  check(valid == net.complete);

  for (size_t i = 0; i < net.nodes.size(); ++i) {
    const auto& node = net.nodes[i];
    check(node.where.line >= 1 && node.where.column >= 1);
    check(node.depth < 64);
    check(node.downloadMbps >= 0 && node.uploadMbps >= 0);
    if (node.parent == model::kNoNode) {
      check(node.depth == 0);
    } else {
      check(node.parent < static_cast<int32_t>(i));
      check(node.depth == net.nodes[node.parent].depth + 1);
    }
    check(net.find(node.name) != model::kNoNode);
  }
  validateModel(model, config::Config{}, diags);
  check(!diags.has("bad-node-link"));
  return 0;
}
