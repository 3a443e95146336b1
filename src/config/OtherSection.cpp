#include "config/OtherSection.h"

#include <cerrno>
#include <tuple>

#include <fmt/format.h>

namespace sluice::config {

OtherSection::OtherSection(const Config& config, std::string name) : name_(std::move(name)) {
  if (auto it = config.otherSections.find(name_); it != config.otherSections.end()) {
    keys_ = &it->second;
  }
}

const toml::node* OtherSection::node(const std::string& key) {
  if (keys_ == nullptr) {
    return nullptr;
  }
  auto it = keys_->find(key);
  if (it == keys_->end()) {
    return nullptr;
  }
  try {
    parsed_ = toml::parse("v = " + it->second);
  } catch (const toml::parse_error&) {
    return nullptr;  // the loader rendered the text, so this does not happen
  }
  return parsed_.get("v");
}

void OtherSection::read(const std::string& key, bool& out) {
  if (const toml::node* n = node(key)) {
    out = n->value_or(out);
  }
}

void OtherSection::read(const std::string& key, std::string& out) {
  if (const toml::node* n = node(key)) {
    out = n->value_or(out);
  }
}

void OtherSection::read(const std::string& key, double& out) {
  if (const toml::node* n = node(key)) {
    out = n->value_or(out);
  }
}

void OtherSection::read(const std::string& key, uint32_t& out) {
  if (const toml::node* n = node(key)) {
    out = static_cast<uint32_t>(n->value_or(int64_t{out}));
  }
}

void OtherSection::read(const std::string& key, int64_t& out) {
  if (const toml::node* n = node(key)) {
    out = n->value_or(out);
  }
}

void OtherSection::read(const std::string& key, std::vector<std::string>& out) {
  const toml::node* n = node(key);
  if (n == nullptr || !n->is_array()) {
    return;
  }
  out.clear();
  for (const toml::node& item : *n->as_array()) {
    out.push_back(item.value_or(std::string()));
  }
}

std::string OtherSection::raw(const std::string& key) const {
  if (keys_ == nullptr) {
    return {};
  }
  auto it = keys_->find(key);
  return it == keys_->end() ? std::string() : it->second;
}

std::unexpected<Error> OtherSection::invalid(const std::string& key,
                                             std::string_view expected) const {
  return makeError(EINVAL, "lqos.conf",
                   fmt::format("{}.{} = {}: {}", name_, key, raw(key), expected));
}

std::string enabledIntegration(const Config& config) {
  for (const auto& [section, key, name] :
       {std::tuple{"uisp_integration", "enable_uisp", "uisp"},
        std::tuple{"splynx_integration", "enable_splynx", "splynx"},
        std::tuple{"sonar_integration", "enable_sonar", "sonar"}}) {
    bool enabled = false;
    OtherSection(config, section).read(key, enabled);
    if (enabled) {
      return name;
    }
  }
  return "";
}

}  // namespace sluice::config
