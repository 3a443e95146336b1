// sluice-gen: writes a synthetic ISP (network.json, ShapedDevices.csv and optionally lqos.conf)
// for tests, benchmarks and demos. Same options → byte-identical files.
//
//   sluice-gen --circuits 200 --sites 3 --seed 7 --out tests/data/synth/isp-200

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "synth/Synth.h"

namespace {

void writeFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) {
    throw std::runtime_error(fmt::format("cannot write {}", path.string()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Generate a synthetic ISP: network.json + ShapedDevices.csv (+ lqos.conf)"};
  sluice::synth::SynthOptions o;
  sluice::synth::LqosConfOptions conf;
  std::string outDir = ".";
  bool writeConf = false;
  bool noFit = false;
  app.add_option("--circuits", o.circuits, "Number of circuits")->capture_default_str();
  app.add_option("--sites", o.sites, "Top-level sites (0 = flat network)")->capture_default_str();
  app.add_option("--pops-per-site", o.popsPerSite, "POPs under each site")->capture_default_str();
  app.add_option("--aps-per-pop", o.apsPerPop, "APs under each POP")->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  app.add_option("--devices-max", o.devicesPerCircuitMax, "Max devices per circuit")
      ->capture_default_str();
  app.add_option("--ipv6-share", o.ipv6Share, "Share of devices with IPv6")->capture_default_str();
  app.add_option("--ipv6-only-share", o.ipv6OnlyShare, "Share of IPv6-only circuits")
      ->capture_default_str();
  app.add_option("--cidr-share", o.cidrShare, "Share of devices with an IPv4 /29 or /30")
      ->capture_default_str();
  app.add_option("--sqm-share", o.sqmOverrideShare, "Share of circuits with an sqm override")
      ->capture_default_str();
  app.add_option("--sqm-none-share", o.sqmNoneShare,
                 "Share of circuits with sqm 'none' (needed above ~65k circuits per interface)")
      ->capture_default_str();
  app.add_option("--unparented-share", o.unparentedShare, "Share of circuits without a parent")
      ->capture_default_str();
  app.add_option("--fiber-share", o.fiberShare, "Share of circuits parented on a POP")
      ->capture_default_str();
  app.add_flag("--no-fit-guarantees", noFit,
               "Keep minimums at 1/4 of the maximums even where they oversubscribe the parent");
  app.add_option("--out", outDir, "Output directory (created)")->capture_default_str();
  app.add_flag("--lqos-conf", writeConf, "Also write lqos.conf (bridge mode)");
  app.add_option("--to-internet", conf.toInternet, "lqos.conf [bridge] to_internet")
      ->capture_default_str();
  app.add_option("--to-network", conf.toNetwork, "lqos.conf [bridge] to_network")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  o.fitGuarantees = !noFit;

  try {
    const sluice::synth::SynthFiles files = sluice::synth::generate(o);
    const std::filesystem::path dir(outDir);
    std::filesystem::create_directories(dir);
    writeFile(dir / "network.json", files.networkJson);
    writeFile(dir / "ShapedDevices.csv", files.shapedDevicesCsv);
    if (writeConf) {
      writeFile(dir / "lqos.conf", sluice::synth::renderLqosConf(conf));
    }
    const auto& s = files.stats;
    fmt::print(
        "{}: {} nodes, {} circuits ({} unparented), {} devices, {} IPv4 and {} IPv6 "
        "entries, {} sqm overrides\n",
        dir.string(), s.nodes, s.circuits, s.unparentedCircuits, s.devices, s.ipv4Entries,
        s.ipv6Entries, s.sqmOverrides);
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "sluice-gen: {}\n", e.what());
    return 2;  // usage error, as the sluice CLI
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice-gen: {}\n", e.what());
    return 1;
  }
  return 0;
}
