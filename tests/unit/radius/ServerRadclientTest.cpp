// End to end on loopback: the RADIUS listeners on 127.0.0.1 (ephemeral ports) answering Debian's
// radclient (freeradius-utils) for accounting, CoA and Disconnect, and dropping a wrong secret.
// No privileges needed; skipped only when radclient is not installed (tools/install-deps.sh).

#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/Process.h"
#include "radius/Server.h"

namespace sluice::radius {
namespace {

class RadiusServerRadclient : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/radclient", X_OK) != 0) {
      GTEST_SKIP() << "radclient not installed (apt-get install freeradius-utils)";
    }
    secretFile_ = ::testing::TempDir() + "radius-e2e-secret-" + std::to_string(::getpid());
    std::ofstream(secretFile_) << "testing123\n";
    ServerConfig config;
    config.bindAddress = "127.0.0.1";
    config.accountingPort = 0;
    config.coaPort = 0;
    auto client = loadClient({"lo", {"127.0.0.0/8"}, secretFile_});
    ASSERT_TRUE(client) << client.error().message();
    auto server = Server::start(config, {*client}, [this](const std::vector<SessionEvent>& ev) {
      std::lock_guard lock(mutex_);
      events_.insert(events_.end(), ev.begin(), ev.end());
    });
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
  }

  void TearDown() override {
    server_.reset();
    if (!secretFile_.empty()) {
      ::unlink(secretFile_.c_str());
    }
  }

  /// Sends one request; returns radclient's output (stdout and stderr) and exit code.
  process::CommandOutput radclient(uint16_t port, const std::string& command,
                                   const std::string& attrs,
                                   const std::string& secret = "testing123") {
    auto out = process::run({"radclient", "-x", "-t", "1", "-r", "1",
                             "127.0.0.1:" + std::to_string(port), command, secret},
                            attrs + "\n", std::chrono::seconds(10));
    EXPECT_TRUE(out) << out.error().message();
    return out ? *out : process::CommandOutput{};
  }

  std::vector<SessionEvent> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

  std::string secretFile_;
  std::unique_ptr<Server> server_;
  std::mutex mutex_;
  std::vector<SessionEvent> events_;
};

std::string now() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

TEST_F(RadiusServerRadclient, AccountingCoaDisconnectAndWrongSecret) {
  const uint16_t acct = server_->accountingPort();
  const uint16_t coa = server_->coaPort();
  ASSERT_NE(acct, 0);
  ASSERT_NE(coa, 0);
  const std::string session = R"(NAS-Identifier = "bng1", Acct-Session-Id = "S1")";

  auto r = radclient(
      acct, "acct",
      "Acct-Status-Type = Start, " + session +
          R"(, User-Name = "alice", Framed-IP-Address = 100.64.0.5, Mikrotik-Rate-Limit = "10M/50M")");
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Received Accounting-Response"), std::string::npos) << r.out;
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0].kind, EventKind::Created);
  EXPECT_EQ(events()[0].session.rates->downloadBps, 50'000'000u);
  EXPECT_EQ(events()[0].session.addresses.at(0).toString(), "100.64.0.5");

  r = radclient(acct, "acct", "Acct-Status-Type = Interim-Update, " + session);
  EXPECT_NE(r.out.find("Received Accounting-Response"), std::string::npos) << r.out;
  EXPECT_EQ(events().back().kind, EventKind::Updated);

  r = radclient(
      coa, "coa",
      R"(Acct-Session-Id = "S1", Mikrotik-Rate-Limit = "5M/25M", Event-Timestamp = )" + now());
  EXPECT_NE(r.out.find("Received CoA-ACK"), std::string::npos) << r.out;
  EXPECT_EQ(events().back().kind, EventKind::RatesChanged);
  EXPECT_EQ(events().back().session.rates->downloadBps, 25'000'000u);

  r = radclient(coa, "coa", R"(Acct-Session-Id = "S9", Mikrotik-Rate-Limit = "5M/25M")");
  EXPECT_NE(r.out.find("Received CoA-NAK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Session-Context-Not-Found"), std::string::npos) << r.out;

  const size_t before = events().size();
  r = radclient(coa, "disconnect", R"(Acct-Session-Id = "S1", Message-Authenticator = 0x00)",
                "not-the-secret");
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.out.find("No reply from server"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(events().size(), before);
  EXPECT_EQ(server_->dispatcher().sessions().size(), 1u);

  r = radclient(coa, "disconnect", R"(Acct-Session-Id = "S1", Message-Authenticator = 0x00)");
  EXPECT_NE(r.out.find("Received Disconnect-ACK"), std::string::npos) << r.out;
  EXPECT_EQ(events().back().kind, EventKind::Removed);
  EXPECT_TRUE(server_->dispatcher().sessions().empty());

  r = radclient(acct, "acct", "Acct-Status-Type = Stop, " + session);
  EXPECT_NE(r.out.find("Received Accounting-Response"), std::string::npos) << r.out;
  EXPECT_EQ(server_->dispatcher().sessionCounters().stopsWithoutStart, 1u);

  const auto c = server_->dispatcher().counters();
  EXPECT_EQ(c.badAuthenticator, 1u);  // the wrong-secret request (radclient -r 1 sends it once)
  EXPECT_EQ(c.responses, 6u);
}

TEST(RadiusServer, BindErrorsNameTheAddressAndPort) {
  ServerConfig config;
  config.bindAddress = "127.0.0.1";
  config.accountingPort = 0;
  config.coaPort = 0;
  auto first = Server::start(config, {}, nullptr);
  ASSERT_TRUE(first) << first.error().message();
  config.accountingPort = 0;
  config.coaPort = (*first)->accountingPort();  // taken
  const auto second = Server::start(config, {}, nullptr);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().errnum, EADDRINUSE);
  EXPECT_NE(second.error().context.find("127.0.0.1:" + std::to_string(config.coaPort)),
            std::string::npos);
  config.bindAddress = "not-an-address";
  const auto third = Server::start(config, {}, nullptr);
  ASSERT_FALSE(third);
  EXPECT_NE(third.error().detail.find("not-an-address"), std::string::npos);
}

}  // namespace
}  // namespace sluice::radius
