// A UISP sync at ISP scale: a generated dataset (gen_uisp.py: towers, APs, CLIENTS subscriber
// sites) served by tests/fakes/vendor_server.py on loopback, then the steps of one sync timed one
// by one: fetch (three GETs, JSON parse), build (graph, preparation, full compile mode, emit),
// write (the pair, atomically), load (the model reader and validation, as a reload does), and
// diff (compareModels against the previous sync, which changed 1 % of the plans). Peak RSS is the
// process's (getrusage), which holds both parsed models at the end, as sluiced does during a sync.
//
// Usage: bench_integrations [--clients N] (default 10000)

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "common/AtomicFile.h"
#include "common/Process.h"
#include "config/ConfigLoader.h"
#include "integrations/ChangeSummary.h"
#include "integrations/HttpClient.h"
#include "integrations/IntegrationConfig.h"
#include "integrations/UispBuild.h"
#include "integrations/UispIntegration.h"
#include "model/Inputs.h"

namespace sluice::integrations {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_integrations: %s\n", what.c_str());
  std::exit(1);
}

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A loopback port nobody listens on now (bound, read, closed).
int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    die("cannot find a free port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

struct Step {
  double fetchMs = 0, buildMs = 0, writeMs = 0, loadMs = 0;
  size_t circuits = 0, nodes = 0;
  std::shared_ptr<model::Inputs> inputs;
};

// One sync of the dataset in `data` (served on `port`) into `out`.
Step sync(const fs::path& data, const fs::path& out, const config::Config& config,
          const fs::path& configPath) {
  const int port = freePort();
  auto server = process::Child::start({"python3", SLUICE_SOURCE_DIR "/tests/fakes/vendor_server.py",
                                       "--uisp", data.string(), "--uisp-token", "bench", "--port",
                                       std::to_string(port)});
  if (!server) {
    die(server.error().message());
  }
  HttpClient http;
  const std::string base = uisp::apiBase(fmt::format("http://127.0.0.1:{}", port));
  Result<uisp::Data> fetched = makeError(ECONNREFUSED, "not tried");
  Step s;
  for (int attempt = 0; attempt < 100 && !fetched; ++attempt) {  // the server starting up
    const auto t0 = Clock::now();
    fetched = uisp::fetchData(http, base, "bench");
    s.fetchMs = msSince(t0);
    if (!fetched) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (!fetched) {
    die(fetched.error().message());
  }
  auto integrations = parseIntegrationConfig(config);
  if (!integrations) {
    die(integrations.error().message());
  }
  auto t0 = Clock::now();
  auto files = uisp::buildUispFiles(*fetched, integrations->uisp,
                                    commonGraphOptions(config, *integrations), CompileMode::Full);
  s.buildMs = msSince(t0);
  if (!files) {
    die(files.error().message());
  }
  s.circuits = files->circuits;
  s.nodes = files->nodes;
  fs::create_directories(out);
  t0 = Clock::now();
  if (!writeFileAtomically((out / "network.json").string(), files->networkJson) ||
      !writeFileAtomically((out / "ShapedDevices.csv").string(), files->shapedDevicesCsv)) {
    die("write " + out.string());
  }
  s.writeMs = msSince(t0);
  t0 = Clock::now();
  model::InputPaths paths{configPath.string(), (out / "network.json").string(),
                          (out / "ShapedDevices.csv").string(), ""};
  s.inputs = std::make_shared<model::Inputs>(model::loadInputs(paths));
  s.loadMs = msSince(t0);
  if (!s.inputs->ok()) {
    die("the produced inputs are invalid: " + s.inputs->diagnostics.all().front().toString());
  }
  return s;
}

}  // namespace
}  // namespace sluice::integrations

int main(int argc, char** argv) {
  using namespace sluice::integrations;
  int clients = 10000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--clients" && i + 1 < argc) {
      clients = std::atoi(argv[++i]);
    } else {
      die("usage: bench_integrations [--clients N]");
    }
  }
  const fs::path dir = fs::temp_directory_path() / fmt::format("sluice-bench-int-{}", getpid());
  fs::create_directories(dir);
  for (const auto& [name, bump] : {std::pair{"a", "0"}, std::pair{"b", "1"}}) {
    auto gen = sluice::process::run({"python3", SLUICE_SOURCE_DIR "/bench/integrations/gen_uisp.py",
                                     std::to_string(clients), (dir / name).string(), "--bump",
                                     bump},
                                    {}, std::chrono::minutes(10));
    if (!gen || gen->exitCode != 0) {
      die("gen_uisp.py failed");
    }
  }
  const fs::path configPath = dir / "lqos.conf";
  if (!sluice::writeFileAtomically(configPath.string(),
                                   "[bridge]\nto_internet = \"eth0\"\nto_network = \"eth1\"\n"
                                   "[uisp_integration]\nenable_uisp = true\nsite = \"Core\"\n"
                                   "url = \"http://127.0.0.1\"\ntoken = \"bench\"\n")) {
    die("write lqos.conf");
  }
  sluice::Diagnostics diags;
  auto config = sluice::config::loadConfig(configPath.string(), diags);
  if (!config) {
    die("lqos.conf: " + diags.all().front().toString());
  }
  const Step first = sync(dir / "a", dir / "out-a", *config, configPath);
  const Step second = sync(dir / "b", dir / "out-b", *config, configPath);
  const auto t0 = Clock::now();
  const SyncChanges changes = compareModels(first.inputs->model, second.inputs->model);
  const double diffMs = msSince(t0);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("# bench_integrations: UISP, %d client sites, %zu circuits, %zu nodes\n", clients,
              second.circuits, second.nodes);
  std::printf("%-8s %10s %10s %10s %10s %10s %10s\n", "sync", "fetch ms", "build ms", "write ms",
              "load ms", "diff ms", "total ms");
  for (const auto& [name, s, diff] : {std::tuple{"first", first, 0.0},
                                      std::tuple{"second", second, diffMs}}) {
    std::printf("%-8s %10.0f %10.0f %10.0f %10.0f %10.1f %10.0f\n", name, s.fetchMs, s.buildMs,
                s.writeMs, s.loadMs, diff, s.fetchMs + s.buildMs + s.writeMs + s.loadMs + diff);
  }
  std::printf("second sync's changes: %s\n", changes.summary().c_str());
  std::printf("peak RSS: %.1f MB\n", static_cast<double>(ru.ru_maxrss) / 1024.0);
  fs::remove_all(dir);
  return 0;
}
