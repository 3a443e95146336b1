#pragma once
// Typed reads of one section that Config keeps as TOML text (Config::otherSections: the
// integration sections, [sync], [stormguard], [treeguard], ...). The config loader validated
// every key against the schema already, so a read that does not match the type leaves the
// default in place rather than failing; range rules beyond the schema go through invalid().

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "common/Error.h"
#include "config/Config.h"

namespace sluice::config {

class OtherSection {
 public:
  /// The section `name` of `config` ("" = the top-level keys without a Config field); an absent
  /// section reads as empty. Nested tables' keys are joined with '.' ("cpu.mode").
  OtherSection(const Config& config, std::string name);

  /// The value of `key` parsed on its own, or nullptr when absent. Valid until the next call.
  const toml::node* node(const std::string& key);

  /// Each read leaves `out` as it was when the key is absent or of another type.
  void read(const std::string& key, bool& out);
  void read(const std::string& key, std::string& out);
  void read(const std::string& key, double& out);  ///< integers convert too
  void read(const std::string& key, uint32_t& out);
  void read(const std::string& key, int64_t& out);
  void read(const std::string& key, std::vector<std::string>& out);  ///< an array of strings

  const std::string& name() const { return name_; }
  /// The TOML text of `key` as written ("" when absent).
  std::string raw(const std::string& key) const;
  /// EINVAL "lqos.conf: <section>.<key> = <value>: <expected>".
  std::unexpected<Error> invalid(const std::string& key, std::string_view expected) const;

 private:
  std::string name_;
  const std::map<std::string, std::string>* keys_ = nullptr;
  toml::table parsed_;
};

/// The enabled CRM/NMS integration: "uisp", "splynx" or "sonar", the first of enable_uisp,
/// enable_splynx (the loader maps the legacy enable_spylnx to it) and enable_sonar, which is the
/// order LibreQoS's scheduler tries them in; "" when none is enabled.
std::string enabledIntegration(const Config& config);

}  // namespace sluice::config
