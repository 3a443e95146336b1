// printStatusRoute (cli/Commands.h): the `status` subcommands of the modules that answer one GET.

#include <chrono>

#include <fmt/format.h>

#include "api/ControlClient.h"
#include "cli/Commands.h"

namespace sluice::cli {

void printStatusRoute(const std::string& socket, const std::string& path,
                      const std::string& command, bool json,
                      const std::function<void(const nlohmann::json&)>& print) {
  auto r = api::request(socket, "GET", path, nullptr, std::chrono::seconds(30));
  if (!r) {
    fmt::print(stderr, "{}: {}\n", command, r.error().message());
    setExitCode(1);
    return;
  }
  if (json) {
    fmt::print("{}\n", r->body.dump(1));
  } else if (r->status != 200) {
    fmt::print(stderr, "{}: sluiced answered HTTP {}: {}\n", command, r->status, r->body.dump());
  } else {
    print(r->body);
  }
  setExitCode(r->status == 200 ? 0 : 1);
}

}  // namespace sluice::cli
