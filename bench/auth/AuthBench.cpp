// bench_auth: what a login and an authenticated request cost.
//   ninja -C build-auth bench_auth && build-auth/bench/auth/bench_auth
// Verify_* time one argon2id verification (real time; CPU = the whole process, since libargon2
// runs the p lanes as threads);
// Authorize_* time one authorize() call for a session cookie and for a Bearer API key.

#include <unistd.h>

#include <filesystem>
#include <string>

#include <benchmark/benchmark.h>

#include "auth/Authenticator.h"
#include "auth/Password.h"

namespace {

using sluice::auth::PasswordParams;

void verifyWith(benchmark::State& state, PasswordParams params) {
  const auto hash = sluice::auth::hashPassword("correct horse battery staple", params);
  if (!hash) {
    state.SkipWithError(hash.error().message().c_str());
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(sluice::auth::verifyPassword("correct horse battery staple", *hash));
  }
  // "$argon2id$v=19$m=..,t=..,p=..": the parameters, without salt and tag.
  state.SetLabel(hash->substr(0, hash->find('$', hash->find("$m=") + 1)));
}

// Shipped: RFC 9106 §4 second recommended option.
void Verify_Shipped_t3_m64MiB_p4(benchmark::State& state) {
  verifyWith(state, sluice::auth::kDefaultPasswordParams);
}
// RFC 9106 second option with one lane (no threads): what a single busy core costs.
void Verify_t3_m64MiB_p1(benchmark::State& state) { verifyWith(state, PasswordParams{3, 65536, 1}); }
// OWASP Password Storage Cheat Sheet minimum (m=19 MiB, t=2, p=1), for comparison.
void Verify_Owasp_t2_m19MiB_p1(benchmark::State& state) {
  verifyWith(state, PasswordParams{2, 19456, 1});
}

BENCHMARK(Verify_Shipped_t3_m64MiB_p4)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->MinTime(2);
BENCHMARK(Verify_t3_m64MiB_p1)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->MinTime(2);
BENCHMARK(Verify_Owasp_t2_m19MiB_p1)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->MinTime(2);

struct Fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("sluice-bench-auth-" + std::to_string(::getpid()));
  std::unique_ptr<sluice::auth::Authenticator> authn;
  std::string cookie, csrf, key;

  Fixture() {
    std::filesystem::create_directories(dir);
    sluice::auth::AuthOptions options;
    options.usersFile = (dir / "users.json").string();
    options.passwordParams = PasswordParams{1, 64, 1};
    authn = std::make_unique<sluice::auth::Authenticator>(std::move(options));
    (void)authn->open();
    (void)authn->users().addUser("admin", sluice::auth::Role::Admin, "admin-password");
    key = *authn->users().addApiKey("bench", sluice::auth::Role::Admin);
    auto in = authn->login("admin", "admin-password", "127.0.0.1");
    cookie = in->setCookie.substr(0, in->setCookie.find(';'));
    csrf = in->principal.csrfToken;
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

void Authorize_SessionPost(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.authn->authorize("POST", f.cookie, f.csrf, ""));
  }
}
void Authorize_ApiKeyGet(benchmark::State& state) {
  Fixture f;
  const std::string header = "Bearer " + f.key;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.authn->authorize("GET", "", "", header));
  }
}
BENCHMARK(Authorize_SessionPost)->Unit(benchmark::kMicrosecond);
BENCHMARK(Authorize_ApiKeyGet)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
